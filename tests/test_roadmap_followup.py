"""Chat follow-ups about the learner's roadmap: which stage a question names, what the app says
from the plan, and (over the real seed index) that the answer's passages are about that stage."""
from __future__ import annotations

import json

import pytest
from test_roadmap import seed_search

from bot.features.roadmap.build import build_roadmap
from bot.answering.pipeline import route
from bot.features.roadmap.followup import LAST, WHOLE_PLAN, load_plan, plan_followup, roadmap_route, stage_reference

CREATOR = dict(goal="用AI做小红书内容", background="内容创作者，不会编程", hours_per_week=5, months=3)


@pytest.fixture(scope="module")
def plan():
    return build_roadmap(CREATOR, seed_search)


@pytest.mark.parametrize("question,ref", [
    ("第二阶段具体学什么？", 2),
    ("第2阶段要交什么？", 2),
    ("第 3 个阶段呢", 3),
    ("阶段4怎么安排", 4),
    ("第十二阶段", 12),
    ("最后一个阶段学什么", LAST),
    ("What do I do in stage 2?", 2),
    ("stage two please", 2),
    ("Tell me about the second stage", 2),
    ("what about the final phase?", LAST),
    ("Is this plan realistic?", WHOLE_PLAN),
    ("这个计划适合我吗？", WHOLE_PLAN),
    ("我的路线图太满了吗", WHOLE_PLAN),
    ("什么是杠铃阅读法？", None),
    ("第2周做什么", None),  # a week, not a stage
    ("阶段1-3个月学什么", None),  # a duration, not a stage number
    ("What is a stage manager?", None),
    ("", None),
])
def test_stage_reference(question, ref):
    assert stage_reference(question) == ref


def test_stage_question_is_answered_from_the_plan(plan):
    s = plan.stages[1]
    fu = plan_followup("第二阶段具体学什么？", plan.to_json())
    assert fu is not None and fu.stage == 2
    assert f"阶段 2：{s.title}" in fu.preface
    assert f"第 {s.start_week}–{s.end_week} 周" in fu.preface and f"{s.hours} 小时" in fu.preface
    for x in [*s.topics, *s.tasks, *(c.title for c in s.citations)]:
        assert x in fu.preface
    assert plan.stages[0].title not in fu.preface and plan.stages[2].title not in fu.preface
    # The model gets the stage's facts; the search looks for the stage's topics, not for "第二阶段".
    assert "第二阶段具体学什么？" in fu.question and s.title in fu.question
    assert s.title in fu.query and all(t in fu.query for t in s.topics)
    assert "第二阶段" not in fu.query and fu.also


def test_english_question_about_a_chinese_plan_gets_english(plan):
    fu = plan_followup("What do I do in stage 2?", json.dumps(plan.to_json(), ensure_ascii=False))
    assert fu.preface.startswith("**Your roadmap · Stage 2: ")
    assert "weeks " in fu.preface and "Tasks and deliverables" in fu.preface
    assert "deliverable:" in fu.preface
    assert fu.question.startswith("What do I do in stage 2?\n(Stage 2 of my study roadmap")


def test_last_stage_whole_plan_and_missing_stage(plan):
    n = len(plan.stages)
    assert plan_followup("最后一个阶段学什么？", plan).stage == n
    whole = plan_followup("这个计划合理吗？", plan)
    assert whole.stage is None and all(s.title in whole.preface for s in plan.stages)
    assert f"合计 {plan.total_hours} 小时" in whole.preface
    missing = plan_followup("第九阶段学什么？", plan)
    assert missing.stage is None and f"只有 {n} 个阶段" in missing.preface


def test_no_plan_or_no_reference_is_a_normal_question(plan):
    assert plan_followup("第二阶段具体学什么？", None) is None
    assert plan_followup("第二阶段具体学什么？", {}) is None
    assert plan_followup("第二阶段具体学什么？", {"stages": "not a plan"}) is None
    assert plan_followup("什么是杠铃阅读法？", plan) is None
    assert load_plan(plan.to_json()) == plan


def test_the_route_step_sends_a_stage_question_down_the_roadmap_path(plan):
    fu = plan_followup("第二阶段具体学什么？", plan)
    r = route("第二阶段具体学什么？", plan.to_json(), roadmap_route)
    assert r.path == "roadmap"
    assert (r.question, r.query, r.also, r.preface) == (fu.question, fu.query, fu.also, fu.preface)
    assert route("什么是杠铃阅读法？", plan, roadmap_route).path == "library"
    assert route("第二阶段具体学什么？", None, roadmap_route).path == "library"


def _stage_paths(stage) -> set[str]:
    return {c.path for c in stage.citations}


@pytest.mark.timeout(300)
def test_chat_answers_about_stage_two_with_library_citations(seed_index, components):
    from bot.service import StudyBot

    bot = StudyBot(seed_index.with_overrides(llm="fake"), components=components)
    rm = bot.roadmap(CREATOR)
    s = rm.stages[1]
    events = list(bot.ask_stream("第二阶段具体学什么？", [], plan=rm.to_json()))
    streamed = "".join(e.text for e in events if e.kind == "token")
    answer = events[-1].answer
    assert streamed.startswith(f"**你的路线图 · 阶段 2：{s.title}**")  # the plan's facts come first, at once
    assert answer.text.startswith(f"**你的路线图 · 阶段 2：{s.title}**")
    assert all(t in answer.text for t in s.topics)
    assert answer.citations, "the stage's topics find passages in the library"
    indexed = {c.path for st in rm.stages for c in st.citations}
    assert {c.path for c in answer.citations} & indexed
    # The retrieval query is the stage's topics (so the passages are about them), not the question.
    assert s.topics[0] in answer.query and "第二阶段" not in answer.query

    plain = bot.ask("第二阶段具体学什么？", [])  # no plan: an ordinary library question
    assert not plain.text.startswith("**你的路线图")


@pytest.mark.timeout(300)
def test_retrieval_only_follow_up_still_gives_the_stage(seed_index, components):
    from bot.service import StudyBot

    bot = StudyBot(seed_index.with_overrides(llm="none"), components=components)
    rm = bot.roadmap(dict(CREATOR, goal="Make AI illustrations and short videos", background="illustrator",
                          lang="en"))
    ans = bot.ask("What do I do in stage 2?", None, plan=rm)
    assert ans.status == "retrieval_only"
    assert ans.text.startswith(f"**Your roadmap · Stage 2: {rm.stages[1].title}**")
    assert "Retrieval-only" in ans.text and ans.citations
