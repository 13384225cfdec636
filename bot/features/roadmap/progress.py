"""A saved roadmap with its start date and ticked tasks, and the chat's "这周我该做什么？ / what's next?".

    rec = PlanRecord.new(roadmap_json, start=date(2026, 12, 7))   # what the browser keeps (see ui/roadmap_tab.py)
    rec = rec.ticked(["1.2"])                                     # task 2 of stage 1 done
    text = rec.to_text()                                          # the JSON string stored in localStorage
    rec = load_record(text)                                       # None for anything that is not one
    week_plan(rec, today)                                         # this week's tasks, overdue ones, progress
    week_answer("这周我该做什么？", rec, today)                    # the chat's Markdown answer

The record lives in the learner's browser (gr.BrowserState, i.e. localStorage), never on the server:
the server sees it only when the page sends it back, and it is re-validated every time, since
anyone can send anything. A plan's tasks belong to its stages; inside a stage they are spread
evenly over its weeks (task j of n in a w-week stage is due in week ⌈(j+1)·w/n⌉ of the stage), so
"this week" names one or two tasks rather than the whole stage.
"""
from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from bot.answering.chain import answer_lang
from bot.features.roadmap.models import Roadmap, Stage
from bot.features.roadmap.render import citation_line, week_span

log = logging.getLogger(__name__)

VERSION = 1
# A saved record is a plan of a few stages (~10 KB of JSON); anything far larger is not one of ours.
MAX_RECORD_CHARS = 96_000
MAX_TASKS = 400  # every stage's tasks together; more cannot come from the catalogue
_KEY = re.compile(r"^\d{1,3}\.\d{1,3}$")


class PlanRecord(BaseModel):
    """What the browser keeps: the plan (its stages, weeks and tasks), the calendar start and the ticks."""
    v: int = VERSION
    plan: Roadmap
    start_date: date
    done: list[str] = Field(default_factory=list, description='ticked tasks, "stage.task", both 1-based')
    saved: bool = False  # False: the plan on screen, not (yet) stored in this browser

    @field_validator("done")
    @classmethod
    def _keys(cls, v: list[str]) -> list[str]:
        if len(v) > MAX_TASKS:
            raise ValueError("too many ticked tasks")
        return sorted({k for k in v if isinstance(k, str) and _KEY.match(k)}, key=_order)

    @classmethod
    def new(cls, plan: Any, start: date, done: list[str] | None = None, saved: bool = False) -> PlanRecord:
        rm = plan if isinstance(plan, Roadmap) else Roadmap.model_validate(plan)
        rec = cls(plan=rm.model_copy(update={"markdown": ""}), start_date=start, done=done or [], saved=saved)
        return rec.ticked(rec.done)  # keys of tasks the plan has, only

    def keys(self) -> list[str]:
        return [f"{i}.{j}" for i, s in enumerate(self.plan.stages, 1) for j in range(1, len(s.tasks) + 1)]

    def ticked(self, keys: list[str]) -> PlanRecord:
        """The same record with exactly ``keys`` ticked (unknown keys dropped)."""
        valid = set(self.keys())
        return self.model_copy(update={"done": sorted({k for k in keys if k in valid}, key=_order)})

    def to_text(self) -> str:
        # The plan's markdown is left out (render_markdown makes it again from the plan): smaller, and
        # nothing the browser sends back is ever shown unchecked.
        return json.dumps(self.model_dump(mode="json", exclude={"plan": {"markdown"}}), ensure_ascii=False,
                          separators=(",", ":"))


def _order(key: str) -> tuple[int, int]:
    a, _, b = key.partition(".")
    return int(a), int(b)


def load_record(raw: Any) -> PlanRecord | None:
    """A PlanRecord from the browser's JSON text (or a dict, or a record); None for nothing, a cleared
    slot, or anything invalid or oversized (logged, never raised: a stale or tampered value must not
    break the page)."""
    if isinstance(raw, PlanRecord):
        return raw
    if raw is None or raw == "" or raw == {}:
        return None
    try:
        if isinstance(raw, str):
            if len(raw) > MAX_RECORD_CHARS:
                raise ValueError(f"{len(raw)} characters, at most {MAX_RECORD_CHARS}")
            raw = json.loads(raw)
        if not isinstance(raw, dict) or raw.get("plan") is None:
            return None
        if len(json.dumps(raw, ensure_ascii=False)) > MAX_RECORD_CHARS:
            raise ValueError("record too large")
        rec = PlanRecord.model_validate(raw)
        if rec.v != VERSION:
            return None
        return rec.ticked(rec.done)
    except (ValueError, TypeError, ValidationError, RecursionError) as e:
        log.warning("ignoring a saved plan that is not valid: %s", str(e).splitlines()[0][:200])
        return None


# --- the calendar --------------------------------------------------------------------------------
def week_index(start: date, today: date) -> int:
    """Week 1 is the 7 days from ``start``; 0 or less: the plan has not started yet."""
    return (today - start).days // 7 + 1


@dataclass(frozen=True)
class Slot:
    key: str  # "stage.task"
    stage: int  # 1-based
    text: str
    first_week: int  # plan weeks in which the task is worked on
    due_week: int


def schedule(rm: Roadmap) -> list[Slot]:
    """Each task's weeks: a stage's tasks spread evenly over its weeks, in order."""
    out = []
    for i, s in enumerate(rm.stages, 1):
        n, w = len(s.tasks), s.weeks
        for j, task in enumerate(s.tasks):
            first = s.start_week + (j * w) // n
            due = s.start_week + math.ceil((j + 1) * w / n) - 1
            out.append(Slot(f"{i}.{j + 1}", i, task, first, max(first, due)))
    return out


@dataclass
class WeekPlan:
    week: int  # plan week of ``today`` (may be < 1 or > total_weeks)
    total_weeks: int
    stage: int  # the stage of that week (1-based; the first before the start, the last after the end)
    this_week: list[Slot]  # unticked tasks worked on this week
    finished_this_week: list[Slot]  # this week's tasks already ticked
    overdue: list[Slot]  # unticked tasks due before this week
    next_up: list[Slot]  # when this week has nothing left: the next unticked tasks
    done: int
    total: int
    start: date
    week_start: date


def week_plan(rec: PlanRecord, today: date) -> WeekPlan:
    rm = rec.plan
    week = week_index(rec.start_date, today)
    w = min(max(week, 1), rm.total_weeks)
    stage = next(i for i, s in enumerate(rm.stages, 1) if s.start_week <= w <= s.end_week)
    slots = schedule(rm)
    done = set(rec.done)
    current = [s for s in slots if s.first_week <= w <= s.due_week] if 1 <= week <= rm.total_weeks else []
    if week < 1:
        current = [s for s in slots if s.first_week == 1]  # what the first week will hold
    this_week = [s for s in current if s.key not in done]
    overdue = [s for s in slots if s.due_week < week and s.key not in done]
    later = [s for s in slots if s.first_week > w and s.key not in done]
    return WeekPlan(week=week, total_weeks=rm.total_weeks, stage=stage, this_week=this_week,
                    finished_this_week=[s for s in current if s.key in done], overdue=overdue,
                    next_up=later[:2] if not this_week else [], done=len(done), total=len(slots),
                    start=rec.start_date, week_start=rec.start_date + timedelta(weeks=max(week, 1) - 1))


# --- the chat's question -------------------------------------------------------------------------
_WEEK_Q = re.compile(
    r"(?:这|本|这个|今)(?:一)?(?:周|星期|礼拜)|下一步|接下来(?:我)?(?:该|要|应该)|今天.{0,6}(?:做|学)"
    r"|我(?:该|要|应该)(?:做|学)(?:什么|些什么|哪些)|我的进度"
    r"|\bthis\s+week\b|\bwhat(?:'s|’s| is)\s+next\b|\bwhat\s+next\b|\bmy\s+next\s+(?:step|task)s?\b"
    r"|\bwhat\s+should\s+i\s+(?:do|study|learn|work\s+on)\s+(?:now|today|next)\b|\bmy\s+progress\b",
    re.I)


def is_week_question(question: str) -> bool:
    """"这周我该做什么？", "下一步做什么", "What's next this week?", "What should I do now?" …"""
    return bool(_WEEK_Q.search(question or ""))


LABELS = {
    "zh": {"head": "**你的路线图 · 第 {w} 周（共 {n} 周，{day} 起）· 阶段 {i}：{title}**",
           "before": "**你的路线图从 {day} 开始（还有 {d} 天）。第 1 周 · 阶段 1：{title}**",
           "after": "**你的路线图已于 {day} 结束（共 {n} 周）。**",
           "this": "本周任务", "none": "本周的任务都已完成 ✅", "next": "接下来", "finished": "本周已完成",
           "overdue": "⚠️ 逾期未完成", "due": "（第 {w} 周内完成）", "due_stage": "（阶段 {i}，应在第 {w} 周完成）",
           "sources": "本阶段参考资料", "progress": "进度：已完成 {d}/{t} 项任务。",
           "all_done": "所有任务都已完成 🎉", "tip": "在「🗺️ 路线」页勾选完成的任务，进度会保存在这个浏览器里。",
           "unsaved": "（这份计划还没有保存：在「🗺️ 路线」页点“保存”，下次打开时它还在。）"},
    "en": {"head": "**Your roadmap · week {w} of {n} (from {day}) · Stage {i}: {title}**",
           "before": "**Your roadmap starts on {day} ({d} days from now). Week 1 · Stage 1: {title}**",
           "after": "**Your roadmap ended on {day} ({n} weeks).**",
           "this": "This week", "none": "Everything planned for this week is done ✅", "next": "Next up",
           "finished": "Done this week", "overdue": "⚠️ Overdue", "due": " (due in week {w})",
           "due_stage": " (stage {i}, due in week {w})", "sources": "Sources for this stage",
           "progress": "Progress: {d} of {t} tasks done.", "all_done": "Every task is done 🎉",
           "tip": "Tick tasks off in the 🗺️ Roadmap tab; your progress is kept in this browser.",
           "unsaved": "(This plan is not saved yet: click “Save” in the 🗺️ Roadmap tab to find it again next time.)"},
}


def _stage_title(s: Stage, lang: str) -> str:
    from bot.features.roadmap.catalog import TEMPLATES  # the catalogue has both languages

    t = TEMPLATES.get(s.id)
    return t.title_in(lang) if t is not None else s.title


def _task_text(slot: Slot, rm: Roadmap, lang: str) -> str:
    from bot.features.roadmap.catalog import TEMPLATES

    s = rm.stages[slot.stage - 1]
    t = TEMPLATES.get(s.id)
    j = int(slot.key.split(".")[1]) - 1
    if t is not None and j < len(t.tasks) and t.tasks_in(_plan_lang(rm))[j] == slot.text:
        return t.tasks_in(lang)[j]  # the same task in the question's language
    return slot.text


def _plan_lang(rm: Roadmap) -> str:
    return rm.profile.lang or "en"


def week_answer(question: str, rec: PlanRecord, today: date) -> str:
    """The Markdown answer: this week's unticked tasks (with the stage's citations), overdue ones, progress."""
    lang = answer_lang(question)
    L = LABELS[lang]
    rm = rec.plan
    wp = week_plan(rec, today)
    st = rm.stages[wp.stage - 1]
    title = _stage_title(st, lang)
    if wp.week < 1:
        lines = [L["before"].format(day=rec.start_date.isoformat(), d=(rec.start_date - today).days, title=title)]
    elif wp.week > rm.total_weeks:
        lines = [L["after"].format(day=(rec.start_date + timedelta(weeks=rm.total_weeks, days=-1)).isoformat(),
                                   n=rm.total_weeks)]
    else:
        lines = [L["head"].format(w=wp.week, n=rm.total_weeks, day=wp.week_start.isoformat(), i=wp.stage,
                                  title=title) + "  ",
                 f"*{week_span(st.start_week, st.end_week, lang)}*"]
    lines.append("")

    def row(s: Slot, note: str) -> str:
        return f"- [ ] {_task_text(s, rm, lang)}{note}"

    if wp.week <= rm.total_weeks:
        if wp.this_week:
            lines += [f"**{L['this']}**", *[row(s, L["due"].format(w=s.due_week)) for s in wp.this_week], ""]
        else:
            lines += [L["none"] if wp.done < wp.total else L["all_done"], ""]
            if wp.next_up:
                lines += [f"**{L['next']}**", *[row(s, L["due"].format(w=s.due_week)) for s in wp.next_up], ""]
        if wp.finished_this_week:
            lines += [f"**{L['finished']}**",
                      *[f"- [x] {_task_text(s, rm, lang)}" for s in wp.finished_this_week], ""]
    if wp.overdue:
        lines += [f"**{L['overdue']}**", *[row(s, L["due_stage"].format(i=s.stage, w=s.due_week)) for s in wp.overdue],
                  ""]
    if wp.week <= rm.total_weeks:
        lines += [f"**{L['sources']}**", *[f"- {citation_line(c, _plan_lang(rm))}" for c in st.citations], ""]
    lines.append(L["progress"].format(d=wp.done, t=wp.total) if wp.done < wp.total else L["all_done"])
    lines.append("")
    lines.append(L["tip"] if rec.saved else L["unsaved"])
    return "\n".join(lines) + "\n"
