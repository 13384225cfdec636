"""The roadmap's input and output, validated so a broken plan can never leave the module.

Time model (the one place it is defined): a month is 52/12 ≈ 4.33 weeks, so
``weeks = round(months * 52 / 12)`` (1 → 4, 3 → 13, 6 → 26, 12 → 52, 24 → 104; 13·m/3 is
never a tie, so rounding is unambiguous) and the hour budget is ``hours_per_week * weeks``.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.text import has_cjk

Level = Literal["beginner", "intermediate", "advanced"]
Lang = Literal["zh", "en"]
Track = Literal["creator", "domain_expert", "builder", "educator", "general"]

WEEKS_PER_MONTH = 52 / 12
MIN_HOURS, MAX_HOURS = 1, 60
MIN_MONTHS, MAX_MONTHS = 1, 24
MAX_TEXT = 300  # characters of goal or background

# The UI and the CLI pass what people type; these spellings are unambiguous enough to accept.
_LEVEL_ALIASES = {
    "beginner": "beginner", "novice": "beginner", "入门": "beginner", "初级": "beginner", "新手": "beginner",
    "零基础": "beginner", "intermediate": "intermediate", "中级": "intermediate",
    "advanced": "advanced", "expert": "advanced", "高级": "advanced", "进阶": "advanced",
}
_LANG_ALIASES = {"zh": "zh", "zh-cn": "zh", "zh_cn": "zh", "cn": "zh", "chinese": "zh", "中文": "zh",
                 "en": "en", "en-us": "en", "en_us": "en", "english": "en", "英文": "en"}


def weeks_for(months: int) -> int:
    return round(months * WEEKS_PER_MONTH)


def _whole_number(v: Any, name: str, lo: int, hi: int, unit: str) -> int:
    if isinstance(v, bool):  # bool is an int subclass; True hours is a bug upstream
        raise ValueError(f"{name} must be a whole number of {unit} from {lo} to {hi}")
    try:
        f = float(str(v).strip()) if isinstance(v, str) else float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number of {unit} from {lo} to {hi} (got {v!r})") from None
    if f != int(f):
        raise ValueError(f"{name} must be a whole number of {unit} from {lo} to {hi} (got {v!r})")
    n = int(f)
    if not lo <= n <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi} {unit} (got {n})")
    return n


def _free_text(v: Any, name: str, *, required: str | None = None) -> str:
    """Stripped text of at most MAX_TEXT characters; ``required``: what to ask for when it is missing."""
    text = str(v or "").strip()
    if required and len(text) < 2:
        raise ValueError(f"{name} is required: {required}")
    if len(text) > MAX_TEXT:
        raise ValueError(f"{name} is too long ({len(text)} characters, at most {MAX_TEXT})")
    return text


def _choice(v: Any, aliases: dict[str, str], problem: str) -> str | None:
    """The canonical value for what someone typed; None when nothing was typed."""
    if v is None or str(v).strip() == "":
        return None
    key = str(v).strip().lower()
    if key not in aliases:
        raise ValueError(f"{problem} (got {v!r})")
    return aliases[key]


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    goal: str = Field(..., description="What the learner wants to achieve, free text.")
    background: str = Field("", description='Role / background, e.g. "内容创作者，不会编程", "backend developer".')
    level: Level = "beginner"
    hours_per_week: int = Field(..., ge=MIN_HOURS, le=MAX_HOURS)
    months: int = Field(..., ge=MIN_MONTHS, le=MAX_MONTHS)
    lang: Lang | None = Field(None, description="zh | en; unset = the goal's language.")

    @field_validator("goal", mode="before")
    @classmethod
    def _goal(cls, v: Any) -> str:
        return _free_text(v, "goal", required="describe what you want to learn or achieve")

    @field_validator("background", mode="before")
    @classmethod
    def _background(cls, v: Any) -> str:
        return _free_text(v, "background")

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, v: Any) -> str:
        return _choice(v, _LEVEL_ALIASES, "level must be beginner, intermediate or advanced") or "beginner"

    @field_validator("hours_per_week", mode="before")
    @classmethod
    def _hours(cls, v: Any) -> int:
        return _whole_number(v, "hours_per_week", MIN_HOURS, MAX_HOURS, "hours")

    @field_validator("months", mode="before")
    @classmethod
    def _months(cls, v: Any) -> int:
        return _whole_number(v, "months", MIN_MONTHS, MAX_MONTHS, "months")

    @field_validator("lang", mode="before")
    @classmethod
    def _lang(cls, v: Any) -> str | None:
        return _choice(v, _LANG_ALIASES, "lang must be zh or en")  # None: the goal's language, set below

    @model_validator(mode="after")
    def _default_lang(self) -> Profile:
        if self.lang is None:
            self.lang = "zh" if has_cjk(self.goal) else "en"
        return self

    @property
    def weeks(self) -> int:
        return weeks_for(self.months)

    @property
    def budget_hours(self) -> int:
        return self.hours_per_week * self.weeks


class StageCitation(BaseModel):
    path: str
    title: str
    page: int | None = None
    section: str | None = None
    chunk_id: str = ""  # the cited passage in the index (the source viewer opens it)


class StageOrigin(BaseModel):
    """The curriculum in the library a stage was taken from (``"from"`` in the JSON)."""

    path: str
    section: str | None = None
    title: str = ""
    stage: int = Field(..., ge=1, description="The stage's number in that curriculum.")


class Gap(BaseModel):
    """Part of the goal the library does not cover, and what kind of source would."""

    topic: str
    missing: str
    add: str


class Stage(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(..., description="The catalogue template or library curriculum stage this stage came from.")
    title: str
    start_week: int = Field(..., ge=1)
    end_week: int = Field(..., ge=1)
    hours: int = Field(..., ge=1)
    topics: list[str] = Field(..., min_length=1)
    tasks: list[str] = Field(..., min_length=1, description="Each task names its deliverable.")
    citations: list[StageCitation] = Field(..., min_length=1)
    rationale: str = ""
    origin: StageOrigin | Literal["catalogue"] = Field("catalogue", alias="from",
                                                       description="A curriculum in the library, or the catalogue.")

    @property
    def weeks(self) -> int:
        return self.end_week - self.start_week + 1

    @model_validator(mode="after")
    def _span(self) -> Stage:
        if self.end_week < self.start_week:
            raise ValueError(f"stage {self.title!r} ends (week {self.end_week}) "
                             f"before it starts (week {self.start_week})")
        return self


class Roadmap(BaseModel):
    profile: Profile
    track: Track
    total_weeks: int = Field(..., ge=1)
    stages: list[Stage] = Field(default_factory=list)
    total_hours: int = Field(..., ge=0)
    covered: bool = Field(True, description="False: the library does not cover the goal (no stages; see gaps).")
    gaps: list[Gap] = Field(default_factory=list, description="Parts of the goal the library does not cover.")
    intro: str = ""
    prose: Literal["llm", "template"] = "template"
    markdown: str = ""

    @model_validator(mode="after")
    def _time_is_consistent(self) -> Roadmap:
        p = self.profile
        if not self.stages:
            if self.covered or not self.gaps or self.total_hours:
                raise ValueError("a roadmap without stages must be marked not covered, with its gaps and 0 hours")
            return self
        if not self.covered:
            raise ValueError("a roadmap with stages is covered (partly, when it lists gaps)")
        if self.total_weeks != p.weeks:
            raise ValueError(f"total_weeks {self.total_weeks} != {p.weeks} weeks in {p.months} months")
        expected_start = 1
        for s in self.stages:
            if s.start_week != expected_start:
                raise ValueError(f"stage {s.title!r} starts at week {s.start_week}, "
                                 f"expected {expected_start} (gap or overlap)")
            if s.hours != s.weeks * p.hours_per_week:
                raise ValueError(f"stage {s.title!r} has {s.hours} h, expected {s.weeks} weeks × {p.hours_per_week} h")
            expected_start = s.end_week + 1
        if expected_start - 1 != self.total_weeks:
            raise ValueError(f"stages end at week {expected_start - 1}, the plan has {self.total_weeks} weeks")
        if self.total_hours != sum(s.hours for s in self.stages):
            raise ValueError("total_hours is not the sum of the stage hours")
        if self.total_hours > p.budget_hours:
            raise ValueError(f"{self.total_hours} h exceeds the budget of {p.budget_hours} h")
        return self

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def format_profile_errors(err: ValidationError) -> list[str]:
    """One readable line per problem, e.g. ``hours_per_week: must be between 1 and 60 hours (got 80)``."""
    out = []
    for e in err.errors():
        field = ".".join(str(x) for x in e.get("loc", ())) or "profile"
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        if e.get("type") == "missing":
            msg = "is required"
        elif e.get("type") == "extra_forbidden":
            msg = "is not a profile field"
        elif msg.startswith(field + " "):
            msg = msg[len(field) + 1 :]
        out.append(f"{field}: {msg}")
    return out
