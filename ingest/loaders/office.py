"""Word (.docx) and PowerPoint (.pptx) -> Parts, through python-docx and python-pptx.

.docx: headings (Heading 1-6 styles, or any style with an outline level) make the sections, tables
come as one line per row ("cell | cell"), in reading order with the paragraphs.
.pptx: one Part per slide: ``page`` is the slide number, ``section`` the slide title; the text of
every shape (groups and tables included) in order, then the speaker notes.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from bot.core.types import LoadedDoc, Part
from ingest.loaders import LoadError
from ingest.loaders.text import sectioned_parts, tidy

MAX_UNZIPPED_MB = 300  # a zip that inflates past this is a zip bomb, not a document
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.I)
_PLACEHOLDER_TITLE = re.compile(r"^(?:powerpoint presentation|powerpoint 演示文稿|presentation\d*|演示文稿\d*|"
                                r"document\d*|文档\d*|untitled|无标题)$", re.I)


def check_zip(path: Path, what: str) -> None:
    """Office files and EPUBs are zip archives: refuse broken ones and zip bombs before parsing."""
    try:
        with zipfile.ZipFile(path) as z:
            total = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as e:
        raise LoadError(f"broken {what} (not a valid zip package; damaged or incomplete, e.g. a cut-off download; "
                        f"re-save or re-download it): {_one_line(e)}") from e
    if total > MAX_UNZIPPED_MB * 1024 * 1024:
        raise LoadError(f"{what} inflates to {total / 2**20:.0f} MB, over the {MAX_UNZIPPED_MB} MB limit for one document")


def load_docx(path: Path) -> list[LoadedDoc]:
    check_zip(path, "Word file (.docx)")
    import docx
    from docx.table import Table

    try:
        doc = docx.Document(str(path))
        blocks: list[tuple[int, str]] = []
        for item in doc.iter_inner_content():
            if isinstance(item, Table):
                blocks.extend((0, row) for row in _table_rows(item))
            else:
                text = " ".join(item.text.split())
                if text:
                    blocks.append((_heading_level(item), text))
        core_title = (doc.core_properties.title or "").strip()
    except LoadError:
        raise
    except Exception as e:  # noqa: BLE001 - python-docx raises KeyError, lxml errors... on damaged parts
        raise LoadError(f"broken Word file (.docx): {_one_line(e)}") from e
    title = core_title if core_title and not _PLACEHOLDER_TITLE.match(core_title) else None
    # Without a document title, the first top heading is the title (as a Markdown H1 is).
    title = title or next((t for lvl, t in blocks if lvl == 1), None)
    return [LoadedDoc(path=str(path), title=title or path.stem, parts=sectioned_parts(blocks, title))]


def _heading_level(paragraph) -> int:
    """1-6 for a heading paragraph, 0 for body text: by style name, or the outline level Word's
    navigation pane uses (localised templates name their heading styles differently)."""
    style = paragraph.style
    seen = 0
    while style is not None and seen < 10:
        name = (style.name or "").strip()
        if name.lower() == "title":
            return 1
        m = _HEADING_STYLE.match(name)
        if m:
            return min(int(m.group(1)), 6)
        lvl = style.element.xpath("./w:pPr/w:outlineLvl/@w:val")
        if lvl and lvl[0].isdigit() and int(lvl[0]) < 9:
            return min(int(lvl[0]) + 1, 6)
        style, seen = style.base_style, seen + 1
    lvl = paragraph._p.xpath("./w:pPr/w:outlineLvl/@w:val")
    return min(int(lvl[0]) + 1, 6) if lvl and lvl[0].isdigit() and int(lvl[0]) < 9 else 0


def _table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):  # a merged cell is listed once per grid column
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


def load_pptx(path: Path) -> list[LoadedDoc]:
    check_zip(path, "PowerPoint file (.pptx)")
    from pptx import Presentation

    try:
        prs = Presentation(str(path))
        parts: list[Part] = []
        for number, slide in enumerate(prs.slides, 1):
            title_shape = slide.shapes.title
            title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None and title_shape.has_text_frame else ""
            lines = [title] if title else []
            for shape in _shapes(slide.shapes):
                if title_shape is not None and shape.shape_id == title_shape.shape_id:
                    continue
                lines.extend(_shape_lines(shape))
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
                notes = slide.notes_slide.notes_text_frame.text.strip()
                if notes:
                    lines.append(notes)
            text = tidy("\n".join(lines))
            if text.strip():
                parts.append(Part(text=text, page=number, section=title or None))
        core_title = (prs.core_properties.title or "").strip()
    except Exception as e:  # noqa: BLE001 - python-pptx raises KeyError, lxml errors... on damaged parts
        raise LoadError(f"broken PowerPoint file (.pptx): {_one_line(e)}") from e
    title = core_title if core_title and not _PLACEHOLDER_TITLE.match(core_title) else None
    title = title or next((p.section for p in parts if p.section), None)
    return [LoadedDoc(path=str(path), title=title or path.stem, parts=parts, meta={"slides": len(prs.slides)})]


def _shapes(shapes):
    """Every shape, group members in place of their group (depth first, document order)."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    stack = list(reversed(list(shapes)))
    while stack:
        shape = stack.pop()
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            stack.extend(reversed(list(shape.shapes)))
        else:
            yield shape


def _shape_lines(shape) -> list[str]:
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        return [p for p in (" ".join(par.text.split()) for par in shape.text_frame.paragraphs) if p]
    if getattr(shape, "has_table", False) and shape.has_table:
        return [" | ".join(c for c in (" ".join(cell.text.split()) for cell in row.cells) if c) for row in shape.table.rows]
    return []


def _one_line(e: Exception) -> str:
    return (" ".join(str(e).split()) or type(e).__name__)[:160]
