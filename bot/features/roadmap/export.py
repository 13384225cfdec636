"""Roadmap exports: Markdown file, iCalendar (.ics) and an SVG timeline, plus savers for each.

    to_markdown_file(rm, "plan.md")
    to_ics(rm, "2025-03-03")          -> str (CRLF lines, all-day events)
    timeline_figure(rm)               -> str (self-contained SVG; gr.HTML(svg) shows it)
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from bot.features.roadmap.ics import to_ics
from bot.features.roadmap.models import Roadmap
from bot.features.roadmap.svg import timeline_figure

__all__ = ["save_ics", "save_timeline", "timeline_figure", "to_ics", "to_markdown_file"]


def _write(path: str | Path, text: str, newline: str | None = None) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    # newline="" keeps the calendar's CRLF exactly; the others use plain \n on every OS.
    with p.open("w", encoding="utf-8", newline=newline if newline is not None else "\n") as f:
        f.write(text)
    return p


def to_markdown_file(rm: Roadmap, path: str | Path) -> Path:
    return _write(path, rm.markdown)


def save_ics(rm: Roadmap, path: str | Path, start_date: date | datetime | str, **kw) -> Path:
    return _write(path, to_ics(rm, start_date, **kw), newline="")


def save_timeline(rm: Roadmap, path: str | Path, **kw) -> Path:
    return _write(path, timeline_figure(rm, **kw))
