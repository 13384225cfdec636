"""What a person types for a roadmap (CLI flags, the UI form) -> a Profile, a start date, export files.

Shared by ``studybot roadmap`` and the Roadmap tab, so both accept and refuse the same input.
Problems come back as one line each (``FormProblems.lines``), in the form's language, naming
the field the way that surface names it (``--hours-per-week`` in the CLI, 每周学习小时数 in the UI).
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.features.roadmap.export import save_ics, to_markdown_file
from bot.features.roadmap.ics import as_date
from bot.features.roadmap.models import (
    _LANG_ALIASES,
    MAX_HOURS,
    MAX_MONTHS,
    MIN_HOURS,
    MIN_MONTHS,
    Profile,
    Roadmap,
    format_profile_errors,
)
from bot.core.text import has_cjk

FIELDS = ("goal", "background", "level", "hours_per_week", "months", "lang")

LABELS = {
    "zh": {"goal": "学习目标", "background": "背景/角色", "level": "水平", "hours_per_week": "每周学习小时数",
           "months": "学习月数", "lang": "语言", "start_date": "日历开始日期"},
    "en": {"goal": "Goal", "background": "Background", "level": "Level", "hours_per_week": "Hours per week",
           "months": "Months", "lang": "Language", "start_date": "Calendar start"},
}
CLI_LABELS = {f: "--" + f.replace("_", "-") for f in (*FIELDS, "start_date")}

# Chinese wording of the rules in bot.features.roadmap.models (the English comes from its validators).
_ZH_RULES = {
    "goal": "写下你想学会或做成的事，2–300 个字",
    "background": "最多 300 个字",
    "level": "请选择 入门、中级 或 高级",
    "hours_per_week": f"须为 {MIN_HOURS}–{MAX_HOURS} 之间的整数",
    "months": f"须为 {MIN_MONTHS}–{MAX_MONTHS} 之间的整数",
    "lang": "请选择 中文 或 English",
}


class FormProblems(ValueError):
    """Input that cannot make a roadmap; ``lines`` has one readable line per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def message_lang(fields: dict[str, Any], default: str = "zh") -> str:
    """The language to explain problems in: the chosen plan language, else the goal's, else ``default``."""
    lang = _LANG_ALIASES.get(str(fields.get("lang") or "").strip().lower())
    if lang:
        return lang
    goal = str(fields.get("goal") or "")
    if goal.strip():
        return "zh" if has_cjk(goal) else "en"
    return default


def _zh_line(e: dict, label: str, field: str) -> str:
    value = e.get("input")
    if e.get("type") == "missing" or (field != "background" and _blank(value)):
        return f"{label}：请填写" + ("，" + _ZH_RULES[field] if field in _ZH_RULES else "")
    if e.get("type") == "extra_forbidden":
        return f"{label}：不是路线图的字段"
    rule = _ZH_RULES.get(field, str(e.get("msg", "")).removeprefix("Value error, "))
    if field in ("goal", "background") and isinstance(value, str):
        return f"{label}：{rule}（当前 {len(value.strip())} 个字）"
    return f"{label}：{rule}（当前：{value}）"


def profile_problems(err: ValidationError, lang: str, labels: dict[str, str] | None = None) -> list[str]:
    if lang != "zh":
        lines = format_profile_errors(err)
        if not labels:
            return lines
        out = []
        for line in lines:
            field, sep, rest = line.partition(": ")
            out.append(f"{labels.get(field, field)}{sep}{rest}")
        return out
    labels = labels or LABELS["zh"]
    out = []
    for e in err.errors():
        field = ".".join(str(x) for x in e.get("loc", ())) or "profile"
        out.append(_zh_line(e, labels.get(field, field), field))
    return out


def check_profile(fields: dict[str, Any], lang: str | None = None, labels: dict[str, str] | None = None) -> Profile:
    """A validated Profile, or FormProblems. Empty inputs count as not given (so they read "required")."""
    given = {k: v for k, v in fields.items() if not _blank(v)}
    try:
        return Profile.model_validate(given)
    except ValidationError as e:
        lang = lang or message_lang(fields)
        raise FormProblems(profile_problems(e, lang, labels or LABELS[lang])) from None


def next_monday(today: date | None = None) -> date:
    """Plans start on a Monday: today if it is one."""
    today = today or date.today()
    return today + timedelta(days=(7 - today.weekday()) % 7)


def check_start_date(value: Any, lang: str = "en", label: str | None = None) -> date:
    """The calendar's first day; empty means the next Monday."""
    if _blank(value):
        return next_monday()
    try:
        return as_date(value)
    except ValueError:
        label = label or LABELS[lang]["start_date"]
        msg = (f"{label}：请用 2025-03-03 这样的日期格式（当前：{value}）" if lang == "zh" else
               f"{label}: must be a date like 2025-03-03 (got {value!r})")
        raise FormProblems([msg]) from None


def check_request(fields: dict[str, Any], start_date: Any = None, lang: str | None = None,
                  labels: dict[str, str] | None = None) -> tuple[Profile, date]:
    """(profile, calendar start) or FormProblems listing every problem in both."""
    lang = lang or message_lang(fields)
    labels = labels or LABELS[lang]
    problems: list[str] = []
    profile = start = None
    try:
        profile = check_profile(fields, lang, labels)
    except FormProblems as e:
        problems += e.lines
    try:
        start = check_start_date(start_date, lang, labels.get("start_date"))
    except FormProblems as e:
        problems += e.lines
    if problems:
        raise FormProblems(problems)
    return profile, start


def save_exports(rm: Roadmap, folder: str | Path, start: date) -> tuple[Path, Path]:
    """roadmap.md and roadmap.ics in ``folder`` (the UI gives each plan its own folder)."""
    folder = Path(folder)
    return to_markdown_file(rm, folder / "roadmap.md"), save_ics(rm, folder / "roadmap.ics", start)
