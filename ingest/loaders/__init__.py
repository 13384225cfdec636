"""File -> LoadedDocs. Each format lives in its own small module; this one dispatches by suffix and
applies the rules every document obeys (absolute path, kind, language, no empty parts).

Usage::

    docs = load_path(Path("notes/学习计划.md"))   # raises LoadError with a one-line reason
    docs = load_path(Path("scan.png"), ocr=Ocr())   # pictures and scanned PDF pages need an OCR engine
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

from bot.core.text import detect_lang
from bot.core.types import LoadedDoc


class LoadError(Exception):
    """A file that cannot be turned into text; str(e) is a short reason meant for the user."""


class NeedsOcr(LoadError):
    """Loaded without an OCR engine, a file whose text only OCR can read (a picture, an all-scanned PDF).
    The ingest queues such files after the rest; ``pages``: how many pictures there are to read."""

    def __init__(self, reason: str, pages: int = 1) -> None:
        super().__init__(reason)
        self.pages = pages


# suffix -> (module, function). Modules are imported on first use so that discovery (and a library
# without PDFs) never pays for importing pdfminer, feedparser or selectolax.
_DISPATCH: dict[str, tuple[str, str]] = {
    ".pdf": ("pdf", "load"),
    ".md": ("markdown", "load"),
    ".mdx": ("markdown", "load"),
    ".markdown": ("markdown", "load"),
    ".txt": ("markdown", "load_txt"),
    ".text": ("text", "load"),
    ".rst": ("text", "load"),
    ".html": ("html", "load"),
    ".htm": ("html", "load"),
    ".xml": ("feeds", "load"),
    ".rss": ("feeds", "load"),
    ".atom": ("feeds", "load"),
    ".eml": ("email", "load_eml"),
    ".mbox": ("email", "load_mbox"),
    ".docx": ("office", "load_docx"),
    ".pptx": ("office", "load_pptx"),
    ".epub": ("epub", "load"),
    ".png": ("image", "load"),
    ".jpg": ("image", "load"),
    ".jpeg": ("image", "load"),
}
# Loaders that can read pictures when given an OCR engine (ingest/ocr.py).
_OCR_LOADERS = {"pdf", "image"}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_DISPATCH)

KINDS = ("paper", "doc", "newsletter")
# Folder names that mark an archive of newsletter issues, e.g. newsletters/ or ruanyf-weekly/.
_NEWSLETTER_DIR = re.compile(r"(?:^|[-_. ])(?:newsletters?|weekly|issues)(?:$|[-_. ])", re.I)


def is_newsletter_path(path: Path) -> bool:
    return any(_NEWSLETTER_DIR.search(part) for part in path.parent.parts)


def load_path(path: Path | str, kind: str | None = None, *, ocr=None) -> list[LoadedDoc]:
    """Load one file. ``kind`` ("paper" | "doc" | "newsletter") overrides the guessed kind.

    ``ocr``: an ``ingest.ocr.Ocr`` to read pictures and scanned PDF pages with. Without one a picture
    raises NeedsOcr and a PDF's scanned pages are listed in ``meta["ocr_pages"]`` (left unread)."""
    path = Path(path).absolute()
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    suffix = path.suffix.lower()
    if suffix not in _DISPATCH:
        raise LoadError(f"unsupported file type {suffix or '(no extension)'}")
    if not path.is_file():
        raise LoadError("not found" if not path.exists() else "not a regular file")
    module, func = _DISPATCH[suffix]
    loader = getattr(importlib.import_module(f"{__name__}.{module}"), func)
    try:
        docs = loader(path, ocr=ocr) if module in _OCR_LOADERS else loader(path)
    except OSError as e:
        raise LoadError(f"cannot read file: {e.strerror or e}") from e
    return _finish(docs, path, kind)


def _finish(docs: list[LoadedDoc], path: Path, kind: str | None) -> list[LoadedDoc]:
    newsletter_dir = is_newsletter_path(path)
    out = []
    for d in docs:
        d.parts = [p for p in d.parts if p.text and p.text.strip()]
        if not d.parts:
            continue
        d.path = str(path)
        d.title = (d.title or "").strip() or path.stem
        if kind:
            d.kind = kind
        elif d.kind == "doc" and newsletter_dir:
            d.kind = "newsletter"
        d.lang = detect_lang(d.text)
        out.append(d)
    if not out:
        raise LoadError("no text found")
    return out


__all__ = ["LoadError", "NeedsOcr", "SUPPORTED_SUFFIXES", "is_newsletter_path", "load_path"]
