"""PDF -> one Part per page. pypdf first (fast); pdfminer.six for the pages pypdf reads as garbage;
OCR (ingest/ocr.py) for scanned pages when the caller passes an engine.

pypdf maps glyphs to text only through a font's ToUnicode table. Chinese PDFs made with some TeX
setups have none, so pypdf yields symbol soup while pdfminer.six still recovers the characters
from the CID encoding. pdfminer is several times slower, so it only sees the pages that need it.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

from bot.core.types import LoadedDoc, Part
from ingest.loaders import LoadError, NeedsOcr
from ingest.loaders.text import TITLE_MAX, tidy

for _name in ("pypdf", "pdfminer"):  # both log every odd-but-harmless object at WARNING
    logging.getLogger(_name).setLevel(logging.ERROR)

# Typeset ligatures ("ﬁnd") would never match what a user types ("find").
_LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"}
)
BROKEN = "broken PDF (damaged or incomplete, e.g. a cut-off download; re-download or re-export it)"
ENCRYPTED = ("encrypted PDF: remove the password (open it and save or print an unprotected copy, or run "
             "`qpdf --decrypt --password=… in.pdf out.pdf`) and re-add it")
_BAD_CATEGORIES = {"Co", "Cc", "Cn", "Cs"}  # private use, control, unassigned, surrogate
_EAST_ASIAN = {"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC"}
_BAD_TITLE = re.compile(
    r"^(untitled|microsoft word|powerpoint|slide ?\d*|document\d*|title)\b"  # tool placeholders
    r"|\.(docx?|pptx?|pdf|tex|dvi)\W*$"  # a file name
    r"|^<?[0-9a-f]{16,}>?$",  # a hex string some writers store undecoded
    re.I,
)


MAX_IMAGES_PER_PAGE = 8  # a scan is one picture, sometimes a few strips; more is decoration


def load(path: Path, ocr=None) -> list[LoadedDoc]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        encrypted = reader.is_encrypted
    except Exception as e:  # noqa: BLE001 - pypdf raises many types for broken files
        raise LoadError(f"{BROKEN}: {_one_line(e)}") from e
    if encrypted and not _decrypt(reader):
        raise LoadError(ENCRYPTED)
    try:
        n = len(reader.pages)
    except Exception as e:  # noqa: BLE001
        raise LoadError(f"{BROKEN}: {_one_line(e)}") from e
    if n == 0:
        raise LoadError("broken PDF: no pages")

    warnings: list[str] = []
    texts: list[str] = []
    for i in range(n):
        try:
            texts.append(_clean(reader.pages[i].extract_text() or ""))
        except Exception as e:  # noqa: BLE001 - one bad page must not lose the rest
            warnings.append(f"page {i + 1}: {_one_line(e)}")
            texts.append("")

    retry = [i for i, t in enumerate(texts) if is_garbage(t) and _has_fonts(reader, i)]
    if retry:
        for i, text in _pdfminer_pages(path, retry, warnings).items():
            if not is_garbage(text) or not texts[i].strip():
                texts[i] = text
    # A page that was mostly fine can still carry a garbled running header: drop just those lines.
    texts = [_drop_garbage_lines(t) for t in texts]
    texts = ["" if is_garbage(t) else t for t in texts]
    running = _running_lines(texts)
    texts = [tidy("\n".join(ln for ln in t.split("\n") if ln.strip() not in running)) for t in texts]

    meta: dict = {"pages": n}
    if retry:
        meta["pdfminer_pages"] = len(retry)
    outline = _outline(reader)
    parts = _sectioned(texts, outline)
    if outline:
        meta["outline"] = len(outline)
    scanned = [i + 1 for i, t in enumerate(texts) if not t.strip() and _image_only(reader, i)]
    if scanned and ocr is not None:
        read = _ocr_pages(reader, scanned, ocr, warnings)
        parts = sorted(parts + [Part(text=t, page=p, ocr=True) for p, t in read.items()], key=lambda p: p.page)
        meta["ocr_read"] = sorted(read)
        unread = [p for p in scanned if p not in read]
        if not parts:
            raise LoadError(f"no text found: OCR read nothing on the {len(scanned)} scanned page{'s' * (len(scanned) > 1)} "
                            f"({'; '.join(warnings[:3]) or 'blank or unreadable pictures'})")
        if unread:
            meta["ocr_failed"] = unread
    elif scanned:
        if not parts:
            raise NeedsOcr(
                f"no text layer: an image-only (scanned) PDF of {n} page{'s' * (n > 1)} needs OCR; run it through OCR "
                "(e.g. `ocrmypdf -l chi_sim+eng in.pdf out.pdf`) and re-add it", pages=len(scanned)
            )
        meta["ocr_pages"] = scanned  # still to read: the ingest queues this file for OCR when it can
        warnings.insert(0, f"{_page_list(scanned)} {'has' if len(scanned) == 1 else 'have'} no text layer "
                           f"(scanned image) and need OCR to be searchable")
    if warnings:
        meta["warnings"] = warnings[:20]
    return [LoadedDoc(path=str(path), title=_title(reader, texts, running, path), kind="paper", parts=parts, meta=meta)]


def _ocr_pages(reader, pages: list[int], ocr, warnings: list[str]) -> dict[int, str]:
    """page -> OCR'd text of its pictures; a page that fails is a warning, never the whole file."""
    from ingest.ocr import OcrError

    out: dict[int, str] = {}
    for page in pages:
        try:
            images = [f.image for f in reader.pages[page - 1].images]
        except Exception as e:  # noqa: BLE001 - an encoding pypdf/Pillow cannot decode (e.g. JBIG2)
            warnings.append(f"page {page}: cannot decode the scanned picture for OCR: {_one_line(e)}")
            continue
        biggest = max((im.width * im.height for im in images), default=0)
        texts = []
        try:
            for im in [im for im in images if im.width * im.height >= biggest / 20][:MAX_IMAGES_PER_PAGE]:
                texts.append(ocr.read(im))
        except OcrError as e:
            warnings.append(f"page {page}: {e}")
            continue
        text = tidy("\n".join(t for t in texts if t.strip()))
        if text.strip():
            out[page] = text
        else:
            warnings.append(f"page {page}: scanned (no text layer), and OCR found no text on it")
    return out


def _outline(reader) -> list[tuple[int, list[str]]]:
    """The bookmarks: (0-based page, heading path) of each, in reading order; [] when there are none
    (or they are unreadable: bookmarks only ever add section names)."""
    out: list[tuple[int, list[str]]] = []

    def walk(items, path: list[str]) -> None:
        last = None
        for x in items:
            if isinstance(x, list):  # the children of the entry before
                if last is not None:
                    walk(x, path + [last])
                continue
            title = " ".join(str(getattr(x, "title", "") or "").split())[:TITLE_MAX]
            try:
                page = reader.get_destination_page_number(x)
            except Exception:  # noqa: BLE001 - a bookmark to nowhere
                continue
            if title and page is not None and page >= 0:
                last = title
                out.append((page, path + [title]))

    try:
        walk(reader.outline, [])
    except Exception:  # noqa: BLE001
        return []
    return out


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _heading_line(line: str, heading: str) -> bool:
    """Whether ``line`` is the bookmark's heading as printed: its text, perhaps after a number ("2.1")."""
    s, h = _squash(line), _squash(heading)
    return bool(h) and s.endswith(h) and len(s) - len(h) <= 8 and not re.search(r"[。！？.!?]$", s[: len(s) - len(h)])


def _sectioned(texts: list[str], outline: list[tuple[int, list[str]]]) -> list[Part]:
    """One Part per page, or per stretch of a page under one bookmark: each carries the heading path
    ("概述 > 大语言模型的背景"), so a long paper's passages are found and cited by their section. A page
    begins in the section in force at its top; a bookmark on it starts where its heading is printed
    (or at the top, when the heading is not found before any other)."""
    starts: dict[int, list[list[str]]] = {}
    for page, path in outline:
        starts.setdefault(page, []).append(path)
    parts: list[Part] = []
    current: list[str] | None = None
    for i, text in enumerate(texts):
        lines = text.split("\n") if text.strip() else []
        cuts: list[tuple[int, list[str]]] = []
        pos = 0
        for path in starts.get(i, []):
            j = next((k for k in range(pos, len(lines)) if _heading_line(lines[k], path[-1])), None)
            if j is None:
                if pos == 0 and not cuts:
                    current = path
                continue
            cuts.append((j, path))
            pos = j + 1
        bounds = [(0, current)] + cuts
        for (a, path), (b, _) in zip(bounds, bounds[1:] + [(len(lines), None)]):
            seg = "\n".join(lines[a:b]).strip()
            if seg:
                parts.append(Part(text=seg, page=i + 1, section=" > ".join(path) if path else None))
        if cuts:
            current = cuts[-1][1]
    return parts


def is_garbage(text: str) -> bool:
    """True for empty text and for text that is mostly not language (bad glyph mapping)."""
    chars = [c for c in text if not c.isspace()]
    if len(chars) < 3:
        return True
    bad = sum(len(line) for line in text.splitlines() if _garbage_line(line))
    wordy = sum(1 for c in chars if c.isalnum())
    return bad > 0.1 * len(chars) or wordy < 0.4 * len(chars)


def _garbage_line(line: str) -> bool:
    chars = [c for c in line if not c.isspace()]
    if not chars:
        return False
    if sum(1 for c in chars if c == "\ufffd" or unicodedata.category(c) in _BAD_CATEGORIES) > 0.05 * len(chars):
        return True
    # Fonts without a ToUnicode map come out as letters of random scripts (Tibetan, Georgian,
    # Malayalam...) side by side; real text changes script rarely, and only between words.
    pairs = switches = 0
    prev = None
    for c in line:
        script = _script(c) if c.isalpha() else None
        if script and prev:
            pairs += 1
            switches += script != prev
        prev = script
    return pairs >= 4 and switches > 0.3 * pairs


def _script(c: str) -> str:
    try:
        word = unicodedata.name(c).split(" ", 1)[0]
    except ValueError:
        return "?"
    return "CJK" if word in _EAST_ASIAN else word


def _drop_garbage_lines(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not _garbage_line(line))


def _decrypt(reader) -> bool:
    try:
        return bool(reader.decrypt(""))
    except Exception:  # noqa: BLE001 - e.g. an unsupported algorithm or a missing crypto backend
        return False


def _image_only(reader, i: int) -> bool:
    """A page that shows pictures but has no fonts: a scan, whose text only OCR could recover."""
    try:
        res = reader.pages[i].get("/Resources")
        res = res.get_object() if res is not None else None
        if res is None or res.get("/Font"):
            return False
        xobjects = res.get("/XObject")
        return bool(xobjects) and any(x.get_object().get("/Subtype") == "/Image" for x in xobjects.get_object().values())
    except Exception:  # noqa: BLE001 - unreadable resources: not provably a scan
        return False


def _page_list(pages: list[int]) -> str:
    shown = ", ".join(map(str, pages[:10])) + (f" and {len(pages) - 10} more" if len(pages) > 10 else "")
    return f"page{'s' * (len(pages) > 1)} {shown}"


def _has_fonts(reader, i: int) -> bool:
    """A page without fonts (a scan, or text drawn as curves) has nothing pdfminer could find."""
    try:
        res = reader.pages[i].get("/Resources")
        res = res.get_object() if res is not None else None
        fonts = res.get("/Font") if res is not None else None
        if fonts is not None:
            return bool(fonts.get_object())
        xobjects = res.get("/XObject") if res is not None else None
        if not xobjects:
            return False
        # Form XObjects can carry their own fonts; too deep to check cheaply, so let pdfminer look.
        return any(x.get_object().get("/Subtype") == "/Form" for x in xobjects.get_object().values())
    except Exception:  # noqa: BLE001
        return True


def _pdfminer_pages(path: Path, pages: list[int], warnings: list[str]) -> dict[int, str]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer, LTTextLine

    out: dict[int, str] = {}
    try:
        # extract_pages yields the selected pages in document order.
        for i, layout in zip(sorted(pages), extract_pages(str(path), page_numbers=set(pages))):
            boxes = [box for box in layout if isinstance(box, LTTextContainer)]
            lines = [ln for box in boxes for ln in box if isinstance(ln, LTTextLine)]
            out[i] = _clean("".join(ln.get_text() for ln in _reading_order(lines, layout.width)))
    except Exception as e:  # noqa: BLE001 - keep what pypdf found
        warnings.append(f"pdfminer: {_one_line(e)}")
    return out


def _reading_order(lines: list, width: float) -> list:
    """Left column before right column on two-column pages.

    pdfminer groups lines into boxes by spacing; on tightly set CJK pages it leaves one box per
    line and sorts them top-down across both columns, interleaving the two texts line by line.
    Lines spanning the middle (titles, headers, wide figures) separate the column runs.
    """
    mid = width / 2
    left = [ln for ln in lines if ln.x1 <= mid + 6]
    right = [ln for ln in lines if ln.x0 >= mid - 6 and ln.x1 > mid + 6]
    if len(left) < 5 or len(right) < 5:
        return lines
    ordered: list = []
    run: list = []
    for ln in sorted(lines, key=lambda ln: (-ln.y1, ln.x0)):
        if ln.x1 <= mid + 6 or ln.x0 >= mid - 6:
            run.append(ln)
            continue
        ordered += _columns(run, mid) + [ln]
        run = []
    return ordered + _columns(run, mid)


def _columns(run: list, mid: float) -> list:
    return [ln for ln in run if ln.x1 <= mid + 6] + [ln for ln in run if ln.x1 > mid + 6]


def _clean(text: str) -> str:
    text = text.replace("\x00", "")
    # pdfminer writes glyphs it cannot map as "(cid:123)": noise for search and for readers.
    text = re.sub(r"\(cid:\d+\)", "", text)
    return tidy(text.translate(_LIGATURES))


def _running_lines(texts: list[str]) -> set[str]:
    """Headers and footers repeated on most pages: noise in every chunk, and never a title."""
    pages = [t for t in texts if t]
    if len(pages) < 3:
        return set()
    counts: dict[str, int] = {}
    for t in pages:
        for line in {ln.strip() for ln in t.split("\n")}:
            if len(line) >= 8:
                counts[line] = counts.get(line, 0) + 1
    return {line for line, n in counts.items() if n > len(pages) / 2}


def _title(reader, texts: list[str], running: set[str], path: Path) -> str:
    try:
        meta_title = str((reader.metadata or {}).get("/Title") or "")
    except Exception:  # noqa: BLE001
        meta_title = ""
    meta_title = " ".join(meta_title.split())
    if 3 <= len(meta_title) <= 200 and not _BAD_TITLE.search(meta_title) and not is_garbage(meta_title):
        return meta_title
    for text in texts[:2]:
        for line in text.splitlines():
            line = line.strip()
            if line and len(line) < TITLE_MAX and sum(c.isalpha() for c in line) >= 2 and line not in running:
                return line
    return path.stem


def _one_line(e: Exception) -> str:
    msg = " ".join(str(e).split()) or type(e).__name__
    return msg[:160]
