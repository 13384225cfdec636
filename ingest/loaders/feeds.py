"""RSS / Atom feeds -> one newsletter document per entry."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from bot.core.types import LoadedDoc, Part
from ingest.loaders import LoadError
from ingest.loaders.html import html_to_parts

_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)[\s>]", re.I)


def is_feed(data: bytes) -> bool:
    # The root element sits after the XML declaration, comments and maybe a stylesheet PI.
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    return bool(_FEED_ROOT.search(head))


def load(path: Path) -> list[LoadedDoc]:
    import feedparser

    data = path.read_bytes()
    if path.suffix.lower() == ".xml" and not is_feed(data):
        raise LoadError("XML file is not an RSS or Atom feed")
    parsed = feedparser.parse(data)
    if not parsed.entries:
        if parsed.get("bozo"):
            raise LoadError(f"malformed feed: {_one_line(parsed.get('bozo_exception'))}")
        raise LoadError("feed has no entries")
    feed_title = " ".join(str(parsed.feed.get("title") or "").split()) or path.stem
    return [_entry_doc(e, i, path, feed_title) for i, e in enumerate(parsed.entries)]


def _entry_doc(entry, i: int, path: Path, feed_title: str) -> LoadedDoc:
    title = " ".join(str(entry.get("title") or "").split()) or f"{feed_title} #{i + 1}"
    date = _iso(entry.get("published_parsed") or entry.get("updated_parsed"))
    link = entry.get("link")
    meta = {"feed_title": feed_title, "item_id": entry.get("id") or link or f"{title}|{date or i}"}
    if link:
        meta["link"] = link
    if date:
        meta["date"] = date
    return LoadedDoc(path=str(path), title=title, kind="newsletter", parts=_body(entry, title), meta=meta)


def _body(entry, title: str) -> list[Part]:
    # Full content beats the summary, which is often a truncated teaser of the same text.
    candidates = list(entry.get("content") or [])
    if entry.get("summary_detail"):
        candidates.append(entry["summary_detail"])
    for c in candidates:
        value = (c.get("value") or "").strip()
        if not value:
            continue
        if "html" in (c.get("type") or "text/html"):
            parts = html_to_parts(value, title, items=True)
        else:
            parts = [Part(text=value)]
        if parts:
            return parts
    return []


def _iso(t) -> str | None:
    # feedparser normalises every date format to a UTC struct_time.
    if not t:
        return None
    try:
        return dt.datetime(*t[:6], tzinfo=dt.timezone.utc).isoformat()
    except (TypeError, ValueError):
        return None


def _one_line(e) -> str:
    return (" ".join(str(e or "unreadable XML").split()))[:160]
