"""Chinese-aware chunking: whole sentences (bot.core.text.sentence_spans) packed into chunks, sections apart.

Chunk ids are derived from the document's content hash and the chunk's own text, so the same
content always yields the same ids whatever path or run produced it.
"""
from __future__ import annotations

import hashlib
import re

from bot.core.text import CJK_CHARS, sentence_spans
from bot.core.types import Chunk, LoadedDoc, Part

# Bump when a change here cuts the same text differently: ingest then re-chunks every indexed file.
# 2: a run of end marks ends one sentence ("(reward!)." was stored as "(reward!) ."), and the one
# sentence splitter and CJK range of bot.core.text are used.
# 3: a newsletter issue is cut at its items (each item its own passages), and passages carry the
# issue's date and the item's link.
# 4: a PDF with bookmarks is cut at its sections, and its passages carry the heading path.
CHUNKER_VERSION = "4"

_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


def day(value) -> str | None:
    """A document's date as YYYY-MM-DD (what the retriever sorts and filters by), or None when it
    does not hold a full date. Times are dropped: an issue is dated by its day."""
    m = _DATE.search(str(value or ""))
    if not m:
        return None
    y, mo, d = (int(x) for x in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"


def _join(sents: list[str]) -> str:
    buf = ""
    for s in sents:
        if not buf:
            buf = s
        elif re.match(rf"[{CJK_CHARS}，。！？；：、（）]", s[:1]) and re.search(rf"[{CJK_CHARS}。！？；]$", buf):
            buf += s  # Chinese runs on without spaces
        else:
            buf += "\n" + s if (s.startswith(("-", "*", "#", "|")) or re.match(r"\d+[.)、]", s)) else " " + s
    return buf


def _hard_wrap(sentence: str, size: int, overlap: int) -> list[str]:
    step = max(1, size - overlap)
    return [sentence[i : i + size] for i in range(0, len(sentence), step) if sentence[i : i + size].strip()]


def _pack(sentences: list[str], size: int, overlap: int) -> list[str]:
    """Greedily pack sentences up to ``size`` chars; the next chunk repeats trailing sentences up to ``overlap``."""
    units: list[str] = []
    for s in sentences:
        units.extend(_hard_wrap(s, size, overlap) if len(s) > size else [s])
    chunks: list[str] = []
    cur: list[str] = []
    cur_len = 0
    for u in units:
        if cur and cur_len + len(u) > size:
            chunks.append(_join(cur))
            carry: list[str] = []
            carry_len = 0
            for prev in reversed(cur):
                if carry_len + len(prev) > overlap:
                    break
                carry.insert(0, prev)
                carry_len += len(prev)
            cur, cur_len = carry, carry_len
        cur.append(u)
        cur_len += len(u)
    if cur:
        text = _join(cur)
        # Don't emit a tail that only repeats the previous chunk's overlap.
        if not chunks or not chunks[-1].endswith(text):
            chunks.append(text)
    return chunks


def _merge_small_parts(parts: list[Part], size: int) -> list[Part]:
    """Fold tiny sections (a heading and a line) into their neighbour on the same page."""
    merged: list[Part] = []
    for p in parts:
        if not p.text.strip():
            continue
        if (
            merged
            and not (p.item or merged[-1].item)  # a newsletter item stays its own passage
            and merged[-1].page == p.page
            and merged[-1].ocr == p.ocr  # a passage is either read from pixels or not: its citation says which
            and len(merged[-1].text) + len(p.text) <= size
            and (len(merged[-1].text) < size // 3 or len(p.text) < size // 4)
        ):
            prev = merged[-1]
            merged[-1] = Part(text=prev.text + "\n" + p.text, page=prev.page, section=_shared_section(prev, p), ocr=p.ocr)
        else:
            merged.append(Part(text=p.text, page=p.page, section=p.section, ocr=p.ocr, link=p.link, item=p.item))
    return merged


def _shared_section(a: Part, b: Part) -> str | None:
    """The label for two merged sections: their common heading path, so a citation never names a
    sibling section the quoted text is not from; with nothing in common, the bigger part's."""
    if not a.section or not b.section or a.section == b.section:
        return a.section or b.section
    common = []
    for x, y in zip(a.section.split(" > "), b.section.split(" > ")):
        if x != y:
            break
        common.append(x)
    if common:
        return " > ".join(common)
    return a.section if len(a.text) >= len(b.text) else b.section


def chunk_id(source_hash: str, ordinal: int, text: str) -> str:
    return hashlib.sha256(f"{source_hash}\x00{ordinal}\x00{text}".encode()).hexdigest()[:24]


def split_doc(doc: LoadedDoc, source_hash: str, size: int = 480, overlap: int = 80) -> list[Chunk]:
    chunks: list[Chunk] = []
    date = day(doc.meta.get("date"))
    doc_link = doc.meta.get("link") if isinstance(doc.meta.get("link"), str) else None
    for part in _merge_small_parts(doc.parts, size):
        sentences = [part.text[a:b] for a, b in sentence_spans(part.text)]
        for text in _pack(sentences, size, overlap):
            ordinal = len(chunks)
            chunks.append(
                Chunk(
                    id=chunk_id(source_hash, ordinal, text),
                    text=text,
                    path=doc.path,
                    title=doc.title,
                    kind=doc.kind,
                    page=part.page,
                    section=part.section,
                    ordinal=ordinal,
                    lang=doc.lang,
                    source_hash=source_hash,
                    ocr=part.ocr,
                    date=date,
                    link=part.link or doc_link,
                )
            )
    return chunks

