"""The Roadmap tab: the `roadmap` API endpoint through gradio_client, and a real browser (Debian Chromium)
that builds a plan in Chinese and then asks the chat about its second stage."""
from __future__ import annotations

import json

import pytest
from browser import ARTIFACTS, browser_page, served_app
from test_ui import _messages

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def app_url(seed_index):
    with served_app(seed_index.with_overrides(llm="fake")) as url:
        yield url


def test_roadmap_endpoint_returns_a_grounded_plan(app_url, seed_index):
    from gradio_client import Client

    from bot.features.admin import short_path
    from bot.index.manifest import Manifest

    client = Client(app_url, verbose=False)
    out = json.loads(client.predict(goal="用AI做小红书内容", background="内容创作者，不会编程", hours_per_week=5,
                                    months=3, start_date="2025-03-03", api_name="/roadmap"))
    assert out["errors"] == []
    assert out["total_hours"] == sum(s["hours"] for s in out["stages"]) <= 5 * 13
    # Learners see library paths ("seeds/…"), never the server's absolute ones.
    indexed = {short_path(r["path"], seed_index.library_dir, learner=True)
               for r in Manifest(seed_index.index_dir / "manifest.sqlite").sources()}
    assert all(c["path"] in indexed and c["path"].startswith("seeds/") for s in out["stages"] for c in s["citations"])
    # Stages taken from a curriculum in the library name it, by the same learner path.
    assert all(s["from"] == "catalogue" or s["from"]["path"] in indexed for s in out["stages"])
    assert out["covered"] is True and out["gaps"] == []
    assert out["markdown"].startswith("# 学习路线图：")
    assert "DTSTART;VALUE=DATE:20250303" in out["ics"] and out["timeline_svg"].startswith("<svg")
    # The chat endpoint keeps its one-argument call: the plan state has a default.
    msgs = _messages(client.predict("什么是杠铃阅读法？", api_name="/chat"))
    assert "杠铃" in " ".join(str(m.get("content")) for m in msgs)


def test_roadmap_endpoint_reports_bad_input(app_url):
    from gradio_client import Client

    out = json.loads(Client(app_url, verbose=False).predict(goal="learn AI", hours_per_week=0, months=30,
                                                            api_name="/roadmap"))
    assert out == {"errors": ["Hours per week: must be between 1 and 60 hours (got 0)",
                              "Months: must be between 1 and 24 months (got 30)"]}


# Scroll the chat so this element sits just below the chatbot's toolbar.
_SCROLL_TO_TOP = """e => {
    e.scrollIntoView({block: 'start'});
    for (let p = e.parentElement; p; p = p.parentElement) {
        if (p.scrollHeight > p.clientHeight + 4 && getComputedStyle(p).overflowY !== 'visible') {
            p.scrollTop -= 48; break;
        }
    }
}"""


def test_browser_builds_a_chinese_plan_then_asks_about_stage_two(app_url):
    from playwright.sync_api import expect

    with browser_page(app_url) as page:
        page.get_by_role("tab", name="路线").click()

        # A bad form first: the errors appear in the form, in Chinese, and nothing is built.
        page.locator("#rm-goal textarea").fill("用AI做小红书内容")
        page.locator("#rm-hours input").fill("80")
        page.locator("#rm-go").click()
        errors = page.locator("#rm-errors")
        expect(errors).to_contain_text("每周学习小时数：须为 1–60 之间的整数", timeout=30_000)
        expect(page.locator("#rm-chart svg")).to_have_count(0)

        page.locator("#rm-background textarea, #rm-background input").first.fill("内容创作者，不会编程")
        page.locator("#rm-hours input").fill("5")
        page.locator("#rm-months input").fill("3")
        page.locator("#rm-go").click()
        expect(page.locator("#rm-status")).to_contain_text("路线图已生成", timeout=60_000)
        expect(errors).to_be_hidden()
        plan = page.locator("#rm-plan")
        expect(plan).to_contain_text("学习路线图：用AI做小红书内容")
        expect(plan).to_contain_text("阶段 2：")
        expect(plan).to_contain_text("参考资料")
        bars = page.locator("#rm-chart svg rect.stage-bar")
        expect(bars.first).to_be_visible()
        assert bars.count() >= 2
        expect(page.locator("#rm-md")).to_be_visible()
        expect(page.locator("#rm-ics")).to_be_visible()
        stage2 = plan.locator("h2").nth(1).inner_text()  # "阶段 2：<title>"
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "ui_roadmap_zh.png"))

        with page.expect_download() as dl:
            page.locator("#rm-ics").click()
        assert dl.value.suggested_filename.endswith(".ics")

        page.get_by_role("tab", name="问答").click()
        box = page.locator("#sb-input textarea")
        box.fill("第二阶段具体学什么？")
        box.press("Enter")
        chat = page.locator("#sb-chat")
        expect(chat).to_contain_text("你的路线图 · " + stage2.strip(), timeout=60_000)
        expect(chat).to_contain_text("fake:fake", timeout=30_000)  # the footer: the answer is complete
        expect(chat).to_contain_text("任务与交付物")
        expect(page.get_by_text("📚 来源", exact=False).first).to_be_visible()
        # Show the question and the head of the answer (the chat scrolls to the end of a long answer).
        page.wait_for_timeout(1000)  # let the chat's after-answer updates (and their autoscroll) finish
        chat.get_by_text("第二阶段具体学什么？").last.evaluate(_SCROLL_TO_TOP)
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "ui_roadmap_followup.png"))
    assert (ARTIFACTS / "ui_roadmap_zh.png").stat().st_size > 10_000
    assert (ARTIFACTS / "ui_roadmap_followup.png").stat().st_size > 10_000


def test_roadmap_endpoint_says_when_the_library_does_not_cover_a_goal(app_url):
    from gradio_client import Client

    out = json.loads(Client(app_url, verbose=False).predict(goal="学钢琴", hours_per_week=3, months=3,
                                                            api_name="/roadmap"))
    assert out["errors"] == [] and out["covered"] is False and out["stages"] == []
    assert [g["topic"] for g in out["gaps"]] == ["钢琴"] and "课程大纲" in out["gaps"][0]["add"]
    assert out["ics"] == "" and out["timeline_svg"] == ""


@pytest.mark.parametrize("goal,said", [("学钢琴", "资料库目前没有覆盖这个目标"),
                                       ("learn piano", "The library does not cover this goal yet")])
def test_browser_says_an_uncovered_goal_has_no_stages_in_the_learners_language(app_url, goal, said):
    from playwright.sync_api import expect

    with browser_page(app_url) as page:
        page.get_by_role("tab", name="路线").click()
        page.locator("#rm-goal textarea").fill(goal)
        page.locator("#rm-go").click()
        errors = page.locator("#rm-errors")
        expect(errors).to_contain_text(said, timeout=60_000)
        expect(errors).to_contain_text("课程大纲" if goal == "学钢琴" else "syllabus")
        expect(page.locator("#rm-chart svg")).to_have_count(0)
        expect(page.locator("#rm-md")).to_be_hidden()
