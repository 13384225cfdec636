"""How a passage's place in the library is written wherever one is shown: "title · section · p.N"."""
from __future__ import annotations


def cite_label(title: str | None, section: str | None = None, page: int | None = None, *,
               page_label: str = "p.{p}", date: str | None = None, ocr: bool = False) -> str:
    """``title · section · p.N · date · OCR``, leaving out what the passage lacks (no section, no page
    number, no date: only newsletter issues are dated).

    Callers decorate the parts, not the format: a learner-facing title in 《》, Markdown escaped in a
    roadmap, the page in the roadmap's language through ``page_label``."""
    # "OCR": the passage was read from a scan or picture, so a character may be misread.
    return " · ".join(x for x in (title, section, page_label.format(p=page) if page else None, date,
                                  "OCR" if ocr else None) if x)
