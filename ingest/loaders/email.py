"""E-mail: one .eml message, or every message of an .mbox, as newsletter documents."""
from __future__ import annotations

import email
import mailbox
import re
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from bot.core.types import LoadedDoc, Part
from ingest.loaders import LoadError
from ingest.loaders.html import html_to_parts
from ingest.loaders.text import decode_bytes, paragraph_parts, tidy


def load_eml(path: Path) -> list[LoadedDoc]:
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    if not msg.keys():
        raise LoadError("not an e-mail message (no headers)")
    return [message_doc(msg, path, 0)]


def load_mbox(path: Path) -> list[LoadedDoc]:
    box = mailbox.mbox(str(path), create=False)
    try:
        raw = [box.get_bytes(key) for key in box.keys()]
    finally:
        box.close()
    if not raw:
        raise LoadError("mailbox has no messages")
    return [message_doc(email.message_from_bytes(b, policy=policy.default), path, i) for i, b in enumerate(raw)]


def message_doc(msg: EmailMessage, path: Path, i: int) -> LoadedDoc:
    title = _header(msg, "subject") or f"{path.stem} #{i + 1}"
    date = _date(msg)
    meta = {"item_id": _header(msg, "message-id") or f"{title}|{date or i}"}
    if date:
        meta["date"] = date
    sender = _header(msg, "from")
    if sender:
        meta["from"] = sender
    return LoadedDoc(path=str(path), title=title, kind="newsletter", parts=_body(msg, title), meta=meta)


def _body(msg: EmailMessage, title: str) -> list[Part]:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return []
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # unknown or lying charset: sniff the raw bytes instead
        content = decode_bytes(part.get_payload(decode=True) or b"")
    if not isinstance(content, str):
        return []
    if part.get_content_subtype() == "html":
        return html_to_parts(content, title, items=True)
    text = tidy(content.replace("\r\n", "\n"))
    return text_items(text) or paragraph_parts(text)


_URL = re.compile(r"https?://[^\s<>()\[\]\"']+")


def text_items(text: str) -> list[Part]:
    """A plain-text digest cut at its items: an item starts at a paragraph with a web address in
    its first two lines ("1. Title\nhttps://..."), and runs until the next one. The address is the
    item's link, its first line (without the address) its section. [] when fewer than two items:
    then it is a letter, not a digest."""
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    starts = [i for i, p in enumerate(paras) if _URL.search("\n".join(p.split("\n")[:2]))]
    if len(starts) < 2:
        return []
    parts = paragraph_parts("\n\n".join(paras[: starts[0]])) if starts[0] else []
    for a, b in zip(starts, [*starts[1:], len(paras)]):
        body = "\n\n".join(paras[a:b])
        head = re.sub(r"[(（]\s*[)）]", "", _URL.sub("", paras[a].split("\n")[0])).strip(" -–—:|.。") or None
        parts.append(Part(text=body, section=head[:120] if head else None, link=_URL.search(paras[a]).group(0).rstrip(".,;"),
                          item=True))
    return parts


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a malformed header must not lose the message
        value = None
    return " ".join(str(value or "").split())


def _date(msg: EmailMessage) -> str | None:
    raw = _header(msg, "date")
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw).isoformat()
    except (TypeError, ValueError, IndexError):
        return None
