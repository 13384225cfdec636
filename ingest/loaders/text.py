"""Plain text, plus the helpers every text-based loader shares: decoding and heading-based parts."""
from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from pathlib import Path

from bot.core.types import LoadedDoc, Part
from ingest.loaders import LoadError

PARAGRAPH_GROUP = 2000  # chars of plain text per Part: big enough for context, small enough to locate
TITLE_MAX = 80

_CONTROL = set(range(0x00, 0x09)) | {0x0B, 0x0E, 0x0F} | set(range(0x10, 0x1B)) | set(range(0x1C, 0x20)) | {0x7F}


def read_text(path: Path) -> str:
    return decode_bytes(Path(path).read_bytes())


def decode_bytes(data: bytes) -> str:
    """Bytes -> str for files of unknown encoding; raises LoadError for binary data."""
    text = _decode(data)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def _decode(data: bytes) -> str:
    # A BOM is the only certain signal, and UTF-16 must be recognised before the NUL-byte test.
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    bom_less = _utf16_without_bom(data)
    if bom_less:
        return data.decode(bom_less, errors="replace")
    if _looks_binary(data[:8192]):
        raise LoadError("binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # UTF-8 with a stray bad byte or a cut-off last character is still UTF-8: real multi-byte
    # characters far outnumber the errors (other encodings read as UTF-8 are mostly errors).
    text = data.decode("utf-8", errors="replace")
    errors = text.count("\ufffd")
    if sum(1 for c in text if "\x7f" < c != "\ufffd") >= 20 * errors:
        return text
    try:
        text = data.decode("gb18030")
        if _plausible_chinese(text):
            return text
    except UnicodeDecodeError:
        pass
    return _guess(data)


def _guess(data: bytes) -> str:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise LoadError("binary file, not text")
    # On short Western text charset-normalizer often ranks a Baltic or Central European code page
    # first ("naïve" -> "naļve"); Windows-1252 is far more common, so near-ties go to it.
    for m in matches:
        if "cp1252" in m.could_be_from_charset and m.chaos <= matches[0].chaos + 0.1:
            return data.decode("cp1252", errors="replace")
    return str(matches[0])


def _utf16_without_bom(data: bytes) -> str | None:
    # ASCII-heavy UTF-16 has a NUL in every other byte; binary formats don't keep that rhythm.
    head = data[:4096]
    if len(head) < 16 or len(head) % 2:
        head = head[: len(head) // 2 * 2]
    if len(head) < 16:
        return None
    even, odd = head[0::2], head[1::2]
    n = len(even)
    if odd.count(0) > 0.4 * n and even.count(0) < 0.02 * n:
        return "utf-16-le"
    if even.count(0) > 0.4 * n and odd.count(0) < 0.02 * n:
        return "utf-16-be"
    return None


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    if not head:
        return False
    return sum(1 for b in head if b in _CONTROL) > 0.05 * len(head)


def _plausible_chinese(text: str) -> bool:
    """GB18030 accepts most byte soup (Latin-1, Big5...). Real Chinese text sits almost entirely in
    GB2312's common characters, while mis-decoded bytes land in the rare GBK extension area."""
    wide = [c for c in text[:200_000] if ord(c) > 0x7F]  # a sample is plenty, and big files stay fast
    if not wide:
        return True
    rare = 0
    for c in wide:
        try:
            c.encode("gb2312")
        except UnicodeEncodeError:
            rare += 1
    return rare <= 0.1 * len(wide)


def first_short_line(text: str, limit: int = TITLE_MAX) -> str | None:
    for line in text.splitlines():
        line = line.strip()
        if any(c.isalnum() for c in line):  # skips rules like "---" and "***"
            return line if len(line) < limit else None
    return None


def tidy(text: str) -> str:
    """Trailing spaces off every line, at most one blank line in a row."""
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def paragraph_parts(text: str, size: int = PARAGRAPH_GROUP) -> list[Part]:
    parts: list[Part] = []
    buf: list[str] = []
    length = 0
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para:
            continue
        if buf and length + len(para) > size:
            parts.append(Part(text="\n\n".join(buf)))
            buf, length = [], 0
        buf.append(para)
        length += len(para) + 2
    if buf:
        parts.append(Part(text="\n\n".join(buf)))
    return parts


ITEM_LEVEL = 7  # below every heading: one item of a newsletter issue ("1、[Title](url)")


def sectioned_parts(blocks: Iterable[tuple], title: str | None) -> list[Part]:
    """Blocks in reading order -> Parts split at headings.

    ``blocks`` are (level, text) or (level, text, link): level 1-6 is a heading, ``ITEM_LEVEL`` a
    newsletter item's headline, 0 is body text. ``section`` is the heading path ("学习路径 > 第一阶段");
    the first H1 equal to ``title`` is the document title, not a section. A heading with no body
    before the next heading is carried into the next Part's text; an item's headline is its own Part.
    A heading or item that carries a link makes its Parts items (``Part.item``, ``Part.link``).
    """
    parts: list[Part] = []
    stack: list[tuple[int, str, str | None]] = []
    heads: list[str] = []  # headings waiting for body text
    body: list[str] = []
    section: str | None = None
    title_seen = False

    def flush() -> None:
        text = _join_body(body)
        is_item = bool(stack) and (stack[-1][0] == ITEM_LEVEL or stack[-1][2] is not None)
        if text.strip() or (is_item and heads):
            link = next((lk for _, _, lk in reversed(stack) if lk), None)
            parts.append(Part(text="\n".join(x for x in (*heads, text) if x), section=section, link=link, item=is_item))
            heads.clear()
        body.clear()

    for block in blocks:
        level, text = block[0], block[1]
        link = block[2] if len(block) > 2 else None
        if level == 0:
            body.append(text)
            continue
        flush()
        text = text.strip()
        if not text:
            continue
        if level == 1 and not title_seen and title is not None and text == title.strip():
            title_seen = True
            stack.clear()
            section = None
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, text, link))
        section = " > ".join(t for _, t, _ in stack)
        heads.append(text)
    flush()
    return parts


def _join_body(body: list[str]) -> str:
    """Like tidy(), but multi-line blocks (code) are kept byte for byte."""
    out: list[str] = []
    for entry in body:
        if "\n" not in entry:
            entry = entry.rstrip()
        if entry.strip():
            out.append(entry)
        elif out and out[-1]:
            out.append("")
    return "\n".join(out).strip("\n")


def from_text(text: str, path: Path, kind: str = "doc") -> LoadedDoc:
    text = tidy(text)
    return LoadedDoc(path=str(path), title=first_short_line(text) or path.stem, kind=kind, parts=paragraph_parts(text))


def load(path: Path) -> list[LoadedDoc]:
    return [from_text(read_text(path), path)]
