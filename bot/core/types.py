"""The data that flows source -> loader -> chunks -> index -> retriever -> chain -> UI."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Part:
    """A span of a loaded document with its location: one PDF page, one Markdown section..."""

    text: str
    page: int | None = None  # 1-based page number for PDFs
    section: str | None = None  # heading path, e.g. "学习路径 > 第一阶段"
    ocr: bool = False  # read from pixels (a scan or a picture): may hold misread characters
    link: str | None = None  # a newsletter item's own link (the URL its headline points at)
    item: bool = False  # one item of a newsletter issue: never merged with its neighbours


@dataclass
class LoadedDoc:
    """What a loader returns: text in reading order, split into located parts."""

    path: str  # absolute path (for feed items: the feed file path; link goes in meta)
    title: str
    kind: str = "doc"  # paper | doc | newsletter
    parts: list[Part] = field(default_factory=list)
    lang: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # date, link, warnings...

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.parts)


@dataclass
class Chunk:
    id: str
    text: str
    path: str
    title: str
    kind: str = "doc"
    page: int | None = None
    section: str | None = None
    ordinal: int = 0  # position within its document
    lang: str | None = None
    source_hash: str = ""  # content hash of the whole document
    ocr: bool = False  # text recognised from an image (its citation says so)
    date: str | None = None  # the document's date (a newsletter issue's), ISO 8601
    link: str | None = None  # the item's or document's web address, when it has one

    def metadata(self) -> dict[str, Any]:
        """Chroma-safe metadata (no None values)."""
        d = asdict(self)
        d.pop("text")
        d.pop("id")
        return {k: v for k, v in d.items() if v is not None}


@dataclass
class Hit:
    chunk: Chunk
    score: float  # fused score, higher is better, 0..1
    dense: float | None = None  # cosine similarity when known
    lexical: float | None = None  # raw BM25 score when known
    match: float | None = None  # share of the question's IDF weight in the passage's best stretch
    found: tuple[str, ...] = ()  # which retrievers ranked it: "dense", "bm25" (or both)

    def to_json(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "path": c.path,
            "title": c.title,
            "chunk_id": c.id,
            "page": c.page,
            "section": c.section,
            "ocr": c.ocr,
            "date": c.date,
            "link": c.link,
            "text": c.text,
            "score": round(float(self.score), 6),
            "cosine": None if self.dense is None else round(float(self.dense), 4),
            "match": None if self.match is None else round(float(self.match), 4),
        }


@dataclass
class Citation:
    path: str
    title: str
    page: int | None
    section: str | None
    quote: str
    chunk_id: str = ""
    ocr: bool = False
    date: str | None = None
    link: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "title": self.title, "page": self.page, "section": self.section, "quote": self.quote,
                "ocr": self.ocr, "date": self.date, "link": self.link}
