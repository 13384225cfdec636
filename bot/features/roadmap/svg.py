"""A Gantt-style timeline of the stages over the weeks, as one self-contained SVG string.

No plotting library: the figure is a few rectangles, and a string keeps it embeddable in
Gradio (``gr.HTML(svg)``), Markdown exports and tests (it parses as XML).
"""
from __future__ import annotations

import unicodedata
from xml.sax.saxutils import escape, quoteattr

from bot.features.roadmap.models import Roadmap
from bot.features.roadmap.render import week_span

PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6", "#9D755D", "#EECA3B",
           "#BAB0AC")
FONT = 13
ROW, BAR, TOP, BOTTOM, RIGHT = 34, 22, 64, 28, 64
FONTS = "'Noto Sans CJK SC','Noto Sans SC','PingFang SC','Microsoft YaHei','Helvetica Neue',Arial,sans-serif"

TEXT = {
    "zh": {"title": "学习路线时间轴 · 共 {w} 周 · {h} 小时", "tick": "第{w}周", "hours": "{h} 小时"},
    "en": {"title": "Roadmap timeline · {w} weeks · {h} hours", "tick": "W{w}", "hours": "{h} h"},
}


def text_width(text: str, size: float = FONT) -> float:
    """Rough rendered width: wide (CJK) characters are one em, the rest about 0.6 em."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else 0.6 * size for c in text)


def _fit(text: str, width: float) -> str:
    if text_width(text) <= width:
        return text
    while text and text_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _tick_step(weeks: int) -> int:
    return next(s for s in (1, 2, 4, 8, 13, 26, 52) if weeks / s <= 12)


def timeline_figure(rm: Roadmap, *, width: int = 960) -> str:
    lang = rm.profile.lang or "en"
    t = TEXT[lang]
    weeks = rm.total_weeks
    labels = [f"{i}. {s.title}" for i, s in enumerate(rm.stages, 1)]
    label_w = min(340.0, max(140.0, max(text_width(x) for x in labels) + 24))
    chart_w = width - label_w - RIGHT
    height = TOP + ROW * len(rm.stages) + BOTTOM

    def x(week: float) -> float:  # left edge of a (1-based) week
        return label_w + (week - 1) / weeks * chart_w

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" style="max-width:100%;height:auto">',
           f"<style>text{{font-family:{FONTS};font-size:{FONT}px;fill:#222}}"
           ".tick{font-size:11px;fill:#666}.title{font-size:15px;font-weight:600}.in{fill:#fff}</style>",
           f'<rect width="{width}" height="{height}" fill="#fff"/>',
           f'<text class="title" x="12" y="24">{escape(t["title"].format(w=weeks, h=rm.total_hours))}</text>']
    step = _tick_step(weeks)
    for w in range(1, weeks + 1, step):
        gx = round(x(w), 1)
        out.append(f'<line x1="{gx}" y1="{TOP - 12}" x2="{gx}" y2="{height - BOTTOM + 4}" stroke="#e3e3e3"/>')
        out.append(f'<text class="tick" x="{gx}" y="{TOP - 18}" text-anchor="middle">'
                   f'{escape(t["tick"].format(w=w))}</text>')
    for i, (s, label) in enumerate(zip(rm.stages, labels)):
        y = TOP + i * ROW
        bx, bw = x(s.start_week), max(2.0, x(s.end_week + 1) - x(s.start_week))
        mid = y + ROW / 2 + FONT / 2 - 2
        span = week_span(s.start_week, s.end_week, lang)
        tip = f"{s.title} — {span}, {t['hours'].format(h=s.hours)}"
        out.append(f'<g class="stage" data-stage="{i + 1}"><title>{escape(tip)}</title>')
        out.append(f'<text x="12" y="{mid:.1f}">{escape(_fit(label, label_w - 24))}</text>')
        out.append(f'<rect class="stage-bar" data-stage="{i + 1}" x="{bx:.1f}" y="{y + (ROW - BAR) / 2:.1f}" '
                   f'width="{bw:.1f}" height="{BAR}" rx="4" fill={quoteattr(PALETTE[i % len(PALETTE)])}/>')
        if text_width(span, 11) + 8 < bw:
            out.append(f'<text class="tick in" x="{bx + 4:.1f}" y="{mid - 1:.1f}">{escape(span)}</text>')
        out.append(f'<text class="tick" x="{bx + bw + 6:.1f}" y="{mid - 1:.1f}">'
                   f'{escape(t["hours"].format(h=s.hours))}</text></g>')
    out.append("</svg>")
    return "\n".join(out)
