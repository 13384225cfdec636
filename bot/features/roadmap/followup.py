"""Chat questions about the learner's own roadmap: "第二阶段具体学什么？", "What do I do in stage 2?".

    fu = plan_followup("第二阶段具体学什么？", roadmap_json)   # None: not about the plan
    fu.preface   # Markdown the app writes from the plan: title, weeks, hours, topics, tasks, citations
    fu.question  # the learner's question plus the stage's facts, for the model
    fu.query, fu.also  # what to search: the stage's title and topics, and the catalogue queries
                       # that grounded the stage, so the passages come from the same library

The plan owns the facts (as in ``bot.features.roadmap.build``): they are printed from it, never left to a model
to recall. Only a question that names a stage (第N阶段, 阶段N, stage N, the second/last stage) or
the plan itself (这个计划, my roadmap) is taken as a follow-up; everything else is a normal
question, so "第二阶段" in a library document can still be asked about when no plan exists.
"""
from __future__ import annotations

import json
import logging
import re
from datetime import date
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from bot.answering.chain import answer_lang
from bot.answering.pipeline import Route
from bot.features.roadmap.catalog import TEMPLATES
from bot.features.roadmap.models import Roadmap, Stage
from bot.features.roadmap.progress import PlanRecord, is_week_question, load_record, week_answer
from bot.features.roadmap.render import citation_line, week_span

log = logging.getLogger(__name__)

WHOLE_PLAN = 0
LAST = -1

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_EN_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
                "ninth": 9, "tenth": 10, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "6th": 6, "7th": 7,
                "8th": 8, "9th": 9, "10th": 10, "last": LAST, "final": LAST}
_EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
               "ten": 10}

_NUM = r"[0-9０-９]{1,2}|[零〇一二两三四五六七八九十]{1,3}"
_ZH_STAGE = re.compile(rf"第\s*({_NUM})\s*(?:个)?\s*阶段|阶段\s*({_NUM})(?![0-9０-９]|\s*[-–~到至周个月小])")
_ZH_LAST = re.compile(r"最后(?:一个)?阶段|最终阶段|收尾阶段")
_EN_STAGE = re.compile(r"\b(?:stage|phase)\s*#?\s*(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\b", re.I)
_EN_ORD = re.compile(r"\b(" + "|".join(_EN_ORDINALS) + r")\s+(?:stage|phase)\b", re.I)
_PLAN = re.compile(r"(?:这个|这份|我的|该)(?:学习)?(?:计划|路线图?|规划)|路线图"
                   r"|\b(?:this|my|the)\s+(?:study\s+|learning\s+)?(?:plan|roadmap)\b", re.I)

LABELS = {
    "zh": {"stage": "你的路线图 · 阶段 {i}：{title}", "meta": "{span} · {w} 周 · {h} 小时", "topics": "学习主题",
           "tasks": "任务与交付物", "sources": "路线图引用的资料", "plan": "你的路线图：{goal}",
           "overview": "共 {weeks} 周 · 每周 {hpw} 小时 · 合计 {total} 小时 · {n} 个阶段",
           "row": "{i}. **{title}** — {span}，{h} 小时", "missing": "你的路线图只有 {n} 个阶段，没有第 {i} 阶段。",
           "more": "资料库里的相关内容：",
           "ask": "{q}\n（我的学习路线图第{i}阶段「{title}」，{span}；学习主题：{topics}）",
           "ask_plan": "{q}\n（我的学习路线图：{stages}）"},
    "en": {"stage": "Your roadmap · Stage {i}: {title}", "meta": "{span} · {w} weeks · {h} hours", "topics": "Topics",
           "tasks": "Tasks and deliverables", "sources": "Sources cited by the plan", "plan": "Your roadmap: {goal}",
           "overview": "{weeks} weeks · {hpw} h/week · {total} hours in total · {n} stages",
           "row": "{i}. **{title}** — {span}, {h} h", "missing": "Your roadmap has {n} stages; there is no stage {i}.",
           "more": "What the library says:",
           "ask": "{q}\n(Stage {i} of my study roadmap, “{title}”, {span}; topics: {topics})",
           "ask_plan": "{q}\n(My study roadmap: {stages})"},
}


@dataclass
class PlanFollowup:
    stage: int | None  # 1-based stage number; None = the plan as a whole
    preface: str
    question: str
    query: str
    also: list[str] = field(default_factory=list)


def _number(text: str) -> int | None:
    text = text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if text.isdigit():
        return int(text)
    if text.lower() in _EN_NUMBERS:
        return _EN_NUMBERS[text.lower()]
    if "十" in text:  # 十 = 10, 十二 = 12, 二十 = 20, 二十一 = 21
        tens, _, ones = text.partition("十")
        t = _ZH_DIGITS.get(tens, 0) if tens else 1
        o = _ZH_DIGITS.get(ones, 0) if ones else 0
        return t * 10 + o if (not tens or tens in _ZH_DIGITS) and (not ones or ones in _ZH_DIGITS) else None
    return _ZH_DIGITS.get(text) if len(text) == 1 else None


def stage_reference(question: str) -> int | None:
    """The stage a question names: N >= 1, ``LAST``, ``WHOLE_PLAN`` (the plan itself), or None."""
    q = question or ""
    m = _ZH_STAGE.search(q)
    if m:
        return _number(m.group(1) or m.group(2))
    if _ZH_LAST.search(q):
        return LAST
    m = _EN_STAGE.search(q)
    if m:
        return _number(m.group(1))
    m = _EN_ORD.search(q)
    if m:
        return _EN_ORDINALS[m.group(1).lower()]
    if _PLAN.search(q):
        return WHOLE_PLAN
    return None


def load_plan(plan: Any) -> Roadmap | None:
    """A Roadmap from what a UI keeps (the model, its JSON dict, a JSON string, or a saved record
    ``{"plan": …, "start_date": …}`` of bot.features.roadmap.progress); None if it is not one."""
    if plan is None or plan == "" or plan == {}:
        return None
    if isinstance(plan, Roadmap):
        return plan
    if isinstance(plan, PlanRecord):
        return plan.plan
    try:
        data = json.loads(plan) if isinstance(plan, str) else plan
        if isinstance(data, dict) and "stages" not in data and isinstance(data.get("plan"), dict):
            data = data["plan"]
        return Roadmap.model_validate(data)
    except (ValueError, TypeError, ValidationError) as e:
        log.warning("ignoring a plan that is not a valid roadmap: %s", str(e).splitlines()[0])
        return None


def _stage_text(s: Stage, lang: str) -> tuple[str, list[str], list[str]]:
    """Title, topics and tasks in the question's language (the catalogue has both), as many as the plan shows."""
    t = TEMPLATES.get(s.id)
    if t is None:
        return s.title, s.topics, s.tasks
    return t.title_in(lang), t.topics_in(lang)[: len(s.topics)], t.tasks_in(lang)[: len(s.tasks)]


def _stage_followup(question: str, rm: Roadmap, i: int, lang: str) -> PlanFollowup:
    L = LABELS[lang]
    s = rm.stages[i - 1]
    title, topics, tasks = _stage_text(s, lang)
    span = week_span(s.start_week, s.end_week, lang)
    lines = [f"**{L['stage'].format(i=i, title=title)}**  ", f"*{L['meta'].format(span=span, w=s.weeks, h=s.hours)}*",
             "", f"**{L['topics']}**", *[f"- {x}" for x in topics], "", f"**{L['tasks']}**",
             *[f"- [ ] {x}" for x in tasks], "", f"**{L['sources']}**",
             *[f"- {citation_line(c, rm.profile.lang or lang)}" for c in s.citations], "", f"**{L['more']}**", "", ""]
    sep = "；" if lang == "zh" else "; "
    t = TEMPLATES.get(s.id)
    also = [*(t.queries if t else ()), *((t.title_in("zh"), t.title_in("en")) if t else ())]
    return PlanFollowup(
        stage=i, preface="\n".join(lines),
        question=L["ask"].format(q=question.strip(), i=i, title=title, span=span, topics=sep.join(topics)),
        query=" ".join([title, *topics]), also=[a for a in also if a],
    )


def _plan_followup(question: str, rm: Roadmap, lang: str, note: str = "") -> PlanFollowup:
    L = LABELS[lang]
    p = rm.profile
    rows, names = [], []
    for i, s in enumerate(rm.stages, 1):
        title = _stage_text(s, lang)[0]
        names.append(title)
        rows.append(L["row"].format(i=i, title=title, span=week_span(s.start_week, s.end_week, lang), h=s.hours))
    head = [note, ""] if note else []
    lines = [*head, f"**{L['plan'].format(goal=p.goal)}**  ",
             f"*{L['overview'].format(weeks=rm.total_weeks, hpw=p.hours_per_week, total=rm.total_hours, n=len(rm.stages))}*",
             "", *rows, "", f"**{L['more']}**", "", ""]
    sep = "；" if lang == "zh" else "; "
    return PlanFollowup(stage=None, preface="\n".join(lines),
                        question=L["ask_plan"].format(q=question.strip(), stages=sep.join(names)),
                        query=" ".join([p.goal, *names]))


def roadmap_route(question: str, plan: Any, today: date | None = None) -> Route | None:
    """The chat's router (bot.answering.pipeline.route): the roadmap path for a question about the
    learner's plan, None for any other question. A plan with its start date (a saved record) also
    answers "这周我该做什么？ / what's next this week?", from the plan alone."""
    if is_week_question(question) and stage_reference(question) in (None, WHOLE_PLAN):
        rec = load_record(plan)
        if rec is not None:
            text = week_answer(question, rec, today or date.today())
            return Route(question, preface=text, path="roadmap", search=False)
    fu = plan_followup(question, plan)
    if fu is None:
        return None
    return Route(fu.question, query=fu.query, also=fu.also, preface=fu.preface, path="roadmap")


def plan_followup(question: str, plan: Any) -> PlanFollowup | None:
    """What to say and search for a question about the learner's plan, or None for any other question."""
    if not (question or "").strip():
        return None
    ref = stage_reference(question)
    if ref is None:
        return None
    rm = load_plan(plan)
    if rm is None:
        return None
    lang = answer_lang(question)
    n = len(rm.stages)
    if ref == LAST:
        ref = n
    if ref == WHOLE_PLAN:
        return _plan_followup(question, rm, lang)
    if not 1 <= ref <= n:
        return _plan_followup(question, rm, lang, note=LABELS[lang]["missing"].format(n=n, i=ref))
    return _stage_followup(question, rm, ref, lang)
