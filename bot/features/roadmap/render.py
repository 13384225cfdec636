"""Markdown for a roadmap, in the profile's language. Every number comes from the validated plan."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.core.citation import cite_label

if TYPE_CHECKING:  # the models import nothing from here; the import is for annotations only
    from bot.features.roadmap.models import Roadmap, StageCitation

TRACK_LABELS = {
    "creator": ("内容创作者", "content creator"),
    "domain_expert": ("领域专家", "domain expert"),
    "builder": ("开发者", "developer"),
    "educator": ("教育者", "educator"),
    "general": ("学习者", "learner"),
}
LEVEL_LABELS = {"beginner": ("入门", "beginner"), "intermediate": ("中级", "intermediate"),
                "advanced": ("高级", "advanced")}

L = {
    "zh": {
        "title": "学习路线图：{goal}", "background": "背景", "track": "方向", "level": "水平",
        "overview": "**总览**：共 {weeks} 周（{months} 个月，按每月 52/12≈4.33 周折算）· 每周 {hpw} 小时 · "
                    "合计 {total} 小时 · {n} 个阶段",
        "table": "| # | 阶段 | 周次 | 小时 |", "weeks": "第 {a}–{b} 周", "week": "第 {a} 周",
        "stage": "阶段 {i}：{title}", "meta": "{span} · {w} 周 · {h} 小时",
        "topics": "学习主题", "tasks": "任务与交付物", "sources": "参考资料", "page": "第 {p} 页",
        "from": "依据资料库中的学习路线：{src}",
        "uncovered": "**资料库目前没有覆盖这个目标**，因此不生成阶段（不会拿不相关领域的内容凑数）。",
        "gaps": "资料库尚未覆盖", "partial": "以下阶段只覆盖了目标的一部分；缺少的内容见文末。",
    },
    "en": {
        "title": "Learning roadmap: {goal}", "background": "Background", "track": "Track", "level": "Level",
        "overview": "**Overview**: {weeks} weeks ({months} months at 52/12 ≈ 4.33 weeks a month) · {hpw} h/week · "
                    "{total} hours in total · {n} stages",
        "table": "| # | Stage | Weeks | Hours |", "weeks": "weeks {a}–{b}", "week": "week {a}",
        "stage": "Stage {i}: {title}", "meta": "{span} · {w} weeks · {h} hours",
        "topics": "Topics", "tasks": "Tasks and deliverables", "sources": "Sources", "page": "p.{p}",
        "from": "From the library's study plan: {src}",
        "uncovered": "**The library does not cover this goal yet**, so there are no stages (none are borrowed from "
                     "unrelated fields).",
        "gaps": "Not covered by the library", "partial": "These stages cover only part of the goal; what is missing "
                                                         "is listed at the end.",
    },
}


def track_label(track: str, lang: str) -> str:
    return TRACK_LABELS[track][0 if lang == "zh" else 1]


def _inline(text: str) -> str:
    # User text and model prose must stay one line of text; "<" is enough to rule out raw HTML.
    return re.sub(r"\s+", " ", text or "").strip().replace("<", "&lt;")


def _para(text: str) -> str:
    # A line of its own must not turn into a heading, quote, list or table.
    text = _inline(text)
    return "\\" + text if re.match(r"[#>|*+-]|\d+[.)]\s", text) else text


def _cell(text: str) -> str:
    return _inline(text).replace("|", "\\|")


def week_span(a: int, b: int, lang: str) -> str:
    return (L[lang]["week"].format(a=a) if a == b else L[lang]["weeks"].format(a=a, b=b))


def short_section(section: str | None, title: str) -> str | None:
    """The last two headings of a section path, without a leading copy of the document title."""
    if not section:
        return None
    parts = [p.strip() for p in section.split(">") if p.strip()]
    if len(parts) > 1 and parts[0] == title.strip():
        parts = parts[1:]
    return " > ".join(parts[-2:]) or None


def citation_line(c: StageCitation, lang: str) -> str:
    section = short_section(c.section, c.title)
    return cite_label(_inline(c.title), section and _inline(section), c.page, page_label=L[lang]["page"])


def render_markdown(rm: Roadmap) -> str:
    p = rm.profile
    lang = p.lang or "en"
    t = L[lang]
    li = 0 if lang == "zh" else 1
    meta = []
    if p.background:
        meta.append(f"{t['background']}：{_inline(p.background)}" if lang == "zh" else
                    f"{t['background']}: {_inline(p.background)}")
    sep = "：" if lang == "zh" else ": "
    meta.append(f"{t['track']}{sep}{TRACK_LABELS[rm.track][li]}")
    meta.append(f"{t['level']}{sep}{LEVEL_LABELS[p.level][li]}")
    out = [f"# {t['title'].format(goal=_inline(p.goal))}", "", "> " + " · ".join(meta), ""]
    if not rm.covered:
        return "\n".join(out + [t["uncovered"], "", *_gaps(rm, t)]) + "\n"
    if rm.intro:
        out += [_para(rm.intro), ""]
    if rm.gaps:
        out += [t["partial"], ""]
    out += [t["overview"].format(weeks=rm.total_weeks, months=p.months, hpw=p.hours_per_week,
                                 total=rm.total_hours, n=len(rm.stages)), "", t["table"], "|---|---|---|---|"]
    for i, s in enumerate(rm.stages, 1):
        out.append(f"| {i} | {_cell(s.title)} | {week_span(s.start_week, s.end_week, lang)} | {s.hours} |")
    for i, s in enumerate(rm.stages, 1):
        out += ["", f"## {t['stage'].format(i=i, title=_inline(s.title))}", "",
                f"*{t['meta'].format(span=week_span(s.start_week, s.end_week, lang), w=s.weeks, h=s.hours)}*", ""]
        if s.rationale:
            out += [_para(s.rationale), ""]
        if s.origin != "catalogue":
            src = short_section(s.origin.section, s.origin.title) or s.origin.title
            out += ["*" + _inline(t["from"].format(src=f"{s.origin.title} › {src}" if src != s.origin.title else src))
                    + "*", ""]
        out += [f"**{t['topics']}**", ""] + [f"- {_inline(x)}" for x in s.topics]
        out += ["", f"**{t['tasks']}**", ""] + [f"- [ ] {_inline(x)}" for x in s.tasks]
        out += ["", f"**{t['sources']}**", ""] + [f"- {citation_line(c, lang)}" for c in s.citations]
    if rm.gaps:
        out += ["", *_gaps(rm, t)]
    return "\n".join(out) + "\n"


def _gaps(rm: Roadmap, t: dict[str, str]) -> list[str]:
    out = [f"## {t['gaps']}", ""]
    for g in rm.gaps:
        out += [f"- **{_inline(g.topic)}**：{_inline(g.missing)} {_inline(g.add)}" if rm.profile.lang == "zh" else
                f"- **{_inline(g.topic)}**: {_inline(g.missing)} {_inline(g.add)}"]
    return out
