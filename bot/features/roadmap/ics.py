"""A roadmap as an RFC 5545 calendar: one all-day event spanning each stage, one on its last day
to check the deliverables, and optionally a weekly study reminder.

The `icalendar` package writes the file (escaping, folding at 75 octets without splitting a UTF-8
character, CRLF), so this module only decides what goes in it. UIDs are derived from the plan and
the start date, so re-importing the same export updates events instead of duplicating them.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta, timezone

from icalendar import Calendar, Event, vText

from bot.features.roadmap.models import Roadmap
from bot.features.roadmap.render import citation_line

PRODID = "-//studybot//roadmap//EN"

TEXT = {
    "zh": {"cal": "学习路线图：{goal}", "stage": "阶段 {i}：{title}", "due": "阶段 {i} 交付检查：{title}",
           "week": "第 {w} 周学习（{h} 小时）：{title}", "topics": "学习主题", "tasks": "任务与交付物",
           "sources": "参考资料", "hours": "{w} 周 · {h} 小时"},
    "en": {"cal": "Learning roadmap: {goal}", "stage": "Stage {i}: {title}",
           "due": "Stage {i} deliverables due: {title}",
           "week": "Week {w} study ({h} h): {title}", "topics": "Topics", "tasks": "Tasks and deliverables",
           "sources": "Sources", "hours": "{w} weeks · {h} hours"},
}


def as_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"start_date must be a date like 2025-03-03 (got {value!r})") from None


def _uid_base(rm: Roadmap, start: date) -> str:
    plan = rm.model_dump(mode="json", exclude={"markdown", "intro", "prose"})
    for s in plan["stages"]:
        s.pop("rationale", None)  # reworded prose is the same plan
    raw = json.dumps(plan, sort_keys=True, ensure_ascii=False) + start.isoformat()
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


def _event(uid: str, stamp: datetime, start: date, end: date, summary: str, description: str) -> Event:
    ev = Event()
    ev.add("uid", uid)
    ev.add("dtstamp", stamp)
    ev.add("dtstart", start)  # a date, not a datetime: VALUE=DATE, an all-day event
    ev.add("dtend", end)
    ev.add("summary", summary)
    ev.add("description", description)
    ev.add("transp", "TRANSPARENT")  # a study plan should not mark the learner busy
    return ev


def to_ics(rm: Roadmap, start_date: date | datetime | str, *, weekly: bool = False,
           now: datetime | None = None) -> str:
    lang = rm.profile.lang or "en"
    t = TEXT[lang]
    start = as_date(start_date)
    # Whole seconds: DTSTAMP is written to the second, and an export is then the same bytes each time.
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    base = _uid_base(rm, start)
    cal = Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", PRODID)
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    # icalendar leaves the value of an X- property as given; vText escapes it like any other text.
    cal.add("x-wr-calname", vText(t["cal"].format(goal=rm.profile.goal)))
    for i, s in enumerate(rm.stages, 1):
        first = start + timedelta(weeks=s.start_week - 1)
        after = start + timedelta(weeks=s.end_week)  # DTEND of an all-day event is exclusive
        body = "\n".join([t["hours"].format(w=s.weeks, h=s.hours), "", t["topics"] + ":",
                          *[f"- {x}" for x in s.topics], "", t["tasks"] + ":", *[f"- {x}" for x in s.tasks],
                          "", t["sources"] + ":", *[f"- {citation_line(c, lang)}" for c in s.citations]])
        cal.add_component(_event(f"{base}-stage{i}@studybot", stamp, first, after,
                                 t["stage"].format(i=i, title=s.title), body))
        cal.add_component(_event(f"{base}-stage{i}-due@studybot", stamp, after - timedelta(days=1), after,
                                 t["due"].format(i=i, title=s.title), "\n".join(f"- {x}" for x in s.tasks)))
        if weekly:
            for w in range(s.start_week, s.end_week + 1):
                day = start + timedelta(weeks=w - 1)
                cal.add_component(_event(f"{base}-week{w}@studybot", stamp, day, day + timedelta(days=1),
                                         t["week"].format(w=w, h=rm.profile.hours_per_week, title=s.title), s.title))
    return cal.to_ical().decode("utf-8")
