"""Saved plans: the week arithmetic, the chat's "这周我该做什么？ / what's next this week?" answer, the record
the browser keeps (and refuses when tampered with), and the whole round trip in a real browser: build, save,
reload, tick, reload, ask the chat, delete."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from test_roadmap import seed_search

from bot.features.roadmap.build import build_roadmap
from bot.features.roadmap.followup import roadmap_route
from bot.features.roadmap.progress import (
    MAX_RECORD_CHARS,
    PlanRecord,
    is_week_question,
    load_record,
    schedule,
    week_answer,
    week_index,
    week_plan,
)

CREATOR = dict(goal="用AI做小红书内容", background="内容创作者，不会编程", hours_per_week=5, months=3)
START = date(2026, 11, 2)  # a Monday


@pytest.fixture(scope="module")
def plan():
    return build_roadmap(CREATOR, seed_search)


@pytest.fixture()
def rec(plan):
    return PlanRecord.new(plan.to_json(), START, saved=True)


@pytest.mark.parametrize("today,week", [
    (date(2026, 11, 2), 1), (date(2026, 11, 8), 1), (date(2026, 11, 9), 2), (date(2026, 12, 5), 5),
    (date(2026, 11, 1), 0), (date(2026, 10, 26), 0), (date(2026, 10, 25), -1), (date(2027, 2, 1), 14),
])
def test_week_index(today, week):
    assert week_index(START, today) == week


def test_tasks_are_spread_over_their_stage(plan):
    slots = schedule(plan)
    assert [s.key for s in slots] == [f"{i}.{j}" for i, st in enumerate(plan.stages, 1)
                                      for j in range(1, len(st.tasks) + 1)]
    for i, st in enumerate(plan.stages, 1):
        mine = [s for s in slots if s.stage == i]
        assert mine[0].first_week == st.start_week and mine[-1].due_week == st.end_week
        assert all(st.start_week <= s.first_week <= s.due_week <= st.end_week for s in mine)
        assert [s.due_week for s in mine] == sorted(s.due_week for s in mine)
    # A 3-week stage with 2 tasks: weeks 1-2 and 2-3 (hand-computed: ⌈1·3/2⌉ = 2, ⌈2·3/2⌉ = 3).
    s1 = plan.stages[0]
    assert (s1.start_week, s1.end_week, len(s1.tasks)) == (1, 3, 2)
    assert [(s.first_week, s.due_week) for s in slots[:2]] == [(1, 2), (2, 3)]


def test_week_plan_lists_this_weeks_unticked_tasks_and_overdue_ones(rec, plan):
    wp = week_plan(rec.ticked(["1.1"]), date(2026, 12, 5))  # week 5: stage 2 (weeks 4-6)
    assert wp.week == 5 and wp.stage == 2
    assert plan.stages[1].start_week <= 5 <= plan.stages[1].end_week
    assert [s.key for s in wp.this_week] == ["2.1", "2.2"]
    assert [s.key for s in wp.overdue] == ["1.2"]  # 1.1 is ticked; 1.2 was due in week 3
    assert (wp.done, wp.total) == (1, sum(len(s.tasks) for s in plan.stages))
    wp = week_plan(rec.ticked(["1.1", "1.2", "2.1"]), date(2026, 12, 5))
    assert [s.key for s in wp.this_week] == ["2.2"] and wp.overdue == []
    assert [s.key for s in wp.finished_this_week] == ["2.1"]


def test_whats_next_in_chinese(rec, plan):
    text = week_answer("这周我该做什么？", rec.ticked(["1.1"]), date(2026, 12, 5))
    assert text.startswith("**你的路线图 · 第 5 周（共 13 周，2026-11-30 起）· 阶段 2：")
    this, _, rest = text.partition("逾期未完成")
    for task in plan.stages[1].tasks:
        assert task in this
    assert plan.stages[0].tasks[1] in rest and plan.stages[0].tasks[0] not in text
    assert "本阶段参考资料" in text and plan.stages[1].citations[0].title in text
    assert "进度：已完成 1/8 项任务。" in text


def test_whats_next_in_english_over_a_chinese_plan(rec, plan):
    from bot.features.roadmap.catalog import TEMPLATES

    text = week_answer("What's next this week?", rec, date(2026, 11, 10))  # week 2
    assert text.startswith("**Your roadmap · week 2 of 13 (from 2026-11-09) · Stage 1: ")
    en = TEMPLATES[plan.stages[0].id].tasks_in("en")
    assert en[0] in text and en[1] in text  # weeks 1-2 and 2-3 both run in week 2, in English
    assert "Overdue" not in text and "Progress: 0 of 8 tasks done." in text


def test_whats_next_before_the_start_and_after_the_end(rec):
    before = week_answer("这周我该做什么？", rec, START - timedelta(days=3))
    assert "从 2026-11-02 开始（还有 3 天）" in before
    after = week_answer("what's next?", rec.ticked(rec.keys()[:-1]), date(2027, 3, 1))
    assert "ended on 2027-01-31" in after and "Overdue" in after
    assert week_answer("what's next?", rec.ticked(rec.keys()), date(2027, 3, 1)).count("Every task is done") == 1


@pytest.mark.parametrize("q,yes", [
    ("这周我该做什么？", True), ("本周任务是什么", True), ("下一步做什么", True), ("我该做什么", True),
    ("What's next this week?", True), ("what should I do now?", True), ("What is next", True),
    ("什么是杠铃阅读法？", False), ("第二阶段具体学什么？", False), ("What is a transformer?", False),
    ("接下来讲的是什么", False),
])
def test_week_question(q, yes):
    assert is_week_question(q) is yes


def test_router_answers_the_week_from_the_plan_alone(rec):
    r = roadmap_route("这周我该做什么？", rec.to_text(), date(2026, 12, 5))
    assert r is not None and r.search is False and "第 5 周" in r.preface
    # A stage question still takes the stage path; a plain plan (no start date) has no week to answer.
    assert roadmap_route("第二阶段具体学什么？", rec.to_text()).search is True
    assert roadmap_route("这周我该做什么？", rec.plan.to_json()) is None
    assert roadmap_route("这周我该做什么？", None) is None


def test_the_chat_answers_the_week_without_the_model(seed_index, rec):
    from bot.service import StudyBot

    bot = StudyBot(seed_index)
    ans = bot.ask("这周我该做什么？", plan=rec.to_text())
    assert ans.status == "plan" and "本周任务" in ans.text and ans.provider == "roadmap"


def test_record_round_trip_and_refusals(rec, plan):
    text = rec.ticked(["2.1", "1.1", "9.9", "x"]).to_text()
    back = load_record(text)
    assert back is not None and back.done == ["1.1", "2.1"] and back.start_date == START and back.saved
    assert back.plan.stages == PlanRecord.new(plan.to_json(), START).plan.stages
    assert '"markdown"' not in text  # never stored: made again from the plan
    data = json.loads(text)
    bad = [
        "{}", "", "null", "[]", "not json", json.dumps({**data, "v": 2}),
        json.dumps({**data, "start_date": "tomorrow"}),
        json.dumps({**data, "plan": {**data["plan"], "total_hours": 1}}),  # inconsistent hours
        json.dumps({**data, "done": ["1.1"] * 1000}),
        "x" * (MAX_RECORD_CHARS + 1),
        json.dumps({**data, "plan": {**data["plan"], "intro": "x" * MAX_RECORD_CHARS}}),
        "[" * 100_000,
    ]
    for raw in bad:
        assert load_record(raw) is None, raw[:80]


# --- a real browser -----------------------------------------------------------------------------------
def test_browser_saves_reloads_ticks_and_asks_whats_next(seed_index):
    from playwright.sync_api import expect

    from bot.service import StudyBot
    from browser import ARTIFACTS, browser_page, served_app

    today = date.today()
    start = today - timedelta(days=28)  # so today is in week 5
    settings = seed_index.with_overrides(llm="fake")
    rm = StudyBot(settings).roadmap(CREATOR, prose=False)
    expected = week_plan(PlanRecord.new(rm.to_json(), start).ticked(["1.1"]), today)
    assert expected.week == 5 and expected.this_week and expected.overdue
    with served_app(settings) as url, browser_page(url) as page:
        def open_roadmap():
            page.get_by_role("tab", name="路线").click()

        open_roadmap()
        page.locator("#rm-goal textarea").fill(CREATOR["goal"])
        page.locator("#rm-background textarea, #rm-background input").first.fill(CREATOR["background"])
        page.locator("#rm-start input").first.fill(start.isoformat())
        page.locator("#rm-go").click()
        expect(page.locator("#rm-status")).to_contain_text("路线图已生成", timeout=60_000)
        expect(page.locator("#rm-saved")).to_contain_text("还没有保存")
        page.locator("#rm-save").click()
        expect(page.locator("#rm-saved")).to_contain_text("已保存在这个浏览器里", timeout=30_000)
        expect(page.locator("#rm-saved")).to_contain_text(f"开始于 {start.isoformat()}")

        page.reload(wait_until="domcontentloaded")
        open_roadmap()
        expect(page.locator("#rm-status")).to_contain_text("已从这个浏览器恢复", timeout=30_000)
        expect(page.locator("#rm-plan")).to_contain_text("学习路线图：用AI做小红书内容")
        boxes = page.locator("#rm-progress input[type=checkbox]")
        expect(boxes).to_have_count(expected.total)
        expect(boxes.first).not_to_be_checked()
        boxes.first.check()
        expect(page.locator("#rm-saved")).to_contain_text("已完成 1/", timeout=30_000)

        page.reload(wait_until="domcontentloaded")
        open_roadmap()
        expect(page.locator("#rm-status")).to_contain_text("已从这个浏览器恢复", timeout=30_000)
        boxes = page.locator("#rm-progress input[type=checkbox]")
        expect(boxes.first).to_be_checked()
        expect(boxes.nth(1)).not_to_be_checked()
        page.screenshot(path=str(ARTIFACTS / "ui_saved_plan.png"))

        page.get_by_role("tab", name="问答").click()
        box = page.locator("#sb-input textarea")
        box.fill("这周我该做什么？")
        box.press("Enter")
        chat = page.locator("#sb-chat")
        expect(chat).to_contain_text("第 5 周", timeout=60_000)
        expect(chat).to_contain_text("来自你保存的路线图", timeout=30_000)
        for s in expected.this_week + expected.overdue:
            expect(chat).to_contain_text(s.text)
        assert rm.stages[0].tasks[0] not in chat.inner_text()  # ticked: not listed
        page.screenshot(path=str(ARTIFACTS / "ui_saved_plan_week.png"))

        open_roadmap()
        page.locator("#rm-delete").click()
        expect(page.locator("#rm-saved")).to_contain_text("已删除", timeout=30_000)
        page.reload(wait_until="domcontentloaded")
        open_roadmap()
        page.wait_for_timeout(2000)
        expect(page.locator("#rm-status")).not_to_contain_text("已从这个浏览器恢复")
        expect(page.locator("#rm-progress")).to_be_hidden()
