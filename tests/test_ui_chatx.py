"""Chat extras and the quiz tab in the served app: API endpoints and a phone-sized real browser."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from browser import ARTIFACTS, browser_page, served_app

PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def served(seed_index, tmp_path_factory):
    # Votes go to a fresh file: the seed index is shared read-only.
    settings = seed_index.with_overrides(llm="fake", feedback_db=tmp_path_factory.mktemp("fb") / "feedback.sqlite")
    with served_app(settings) as url:
        yield url, settings


def test_chat_api_returns_followup_options(served):
    from gradio_client import Client

    url, _ = served
    msgs = Client(url, verbose=False).predict("学习计划第一阶段学什么？", api_name="/chat")
    msgs = [msgs] if isinstance(msgs, dict) else list(msgs)
    values = [o["value"] for o in msgs[-1].get("options") or []]
    assert "第二阶段：文本生成具体学什么？" in values


def test_quiz_and_flashcards_api(served):
    from gradio_client import Client

    url, settings = served
    client = Client(url, verbose=False)
    quiz = json.loads(client.predict(topic="杠铃阅读法", source="", n=2, lang="auto", api_name="/quiz"))
    q = quiz["questions"][0]
    assert quiz["lang"] == "zh" and q["options"][q["answer"]] == "杠铃式阅读法"
    # The passage's path inside the library: learners never see the server's absolute paths.
    assert not Path(q["source"]["path"]).is_absolute() and (Path(settings.library_dir) / q["source"]["path"]).exists()
    assert "杠铃式阅读法" in q["source"]["quote"]
    cards = json.loads(client.predict(topic="", source="002_c0490f06c8b4e4df.txt", n=3, lang="en",
                                      api_name="/flashcards"))
    assert cards["lang"] == "en" and len(cards["cards"]) == 3


def test_phone_chat_answer_followups_and_thumbs_up(served):
    from playwright.sync_api import expect

    url, settings = served
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page(url, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True) as page:
        chat = page.locator("#sb-chat")
        expect(chat).to_contain_text("问我任何关于资料库的问题", timeout=30_000)  # empty state
        box = page.locator("#sb-input textarea")
        box.fill("学习计划第一阶段学什么？")
        box.press("Enter")
        expect(chat).to_contain_text("fake:fake", timeout=60_000)  # footer: the answer is complete
        followup = chat.locator("button.option", has_text="第二阶段：文本生成具体学什么？")
        expect(followup).to_be_visible(timeout=10_000)
        like = chat.get_by_role("button", name="Like", exact=True).last
        like.click()
        expect(page.locator("#sb-feedback")).to_be_visible(timeout=10_000)
        expect(page.locator("#sb-feedback-note")).to_contain_text("谢谢", timeout=10_000)
        page.locator("#sb-feedback-comment textarea").fill("清楚 / clear")
        page.locator("#sb-feedback-send").click()
        expect(page.locator("#sb-feedback-note")).to_contain_text("备注已保存", timeout=10_000)
        followup.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "ui_chat_phone.png"))
        # Clicking a suggestion asks it.
        followup.click()
        expect(chat.locator(".message.user", has_text="第二阶段：文本生成具体学什么？").first).to_be_visible(timeout=30_000)
        expect(chat.get_by_text("fake:fake", exact=False)).to_have_count(2, timeout=60_000)
    db = sqlite3.connect(settings.feedback_db)
    rows = db.execute("SELECT vote, question, comment, provider, citations_json FROM feedback").fetchall()
    assert len(rows) == 1
    vote, question, comment, provider, cites = rows[0]
    assert (vote, question, comment) == (1, "学习计划第一阶段学什么？", "清楚 / clear") and provider.startswith("fake:fake")
    assert ".txt)" in cites


def _open_tab(page, name: str) -> None:
    """As a phone user does: through Gradio's "More tabs" menu when the tab does not fit, else the tab."""
    page.wait_for_timeout(1500)  # Gradio measures the tab bar after the first render
    more = page.get_by_role("button", name="More tabs")
    if more.count() and more.first.is_visible():
        more.first.click()
        page.locator(".overflow-dropdown button", has_text=name).first.click()
    else:
        page.get_by_role("tab", name=name).click()


def test_phone_quiz_tab_check_answers(served):
    from playwright.sync_api import expect

    url, _ = served
    with browser_page(url, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True) as page:
        _open_tab(page, "📝 测验 Quiz")
        page.locator("#sb-study-topic textarea").fill("信息来源")
        page.locator("#sb-make-quiz").click()
        expect(page.locator("#sb-study-status")).to_contain_text("已生成", timeout=60_000)
        q1 = page.locator("#sb-quiz-q1")
        expect(q1).to_be_visible()
        q1.locator("label").first.click()
        page.locator("#sb-check").click()
        expect(page.locator("#sb-score")).to_contain_text("得分", timeout=30_000)
        page.locator("#sb-quiz-q1").scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "ui_quiz_zh.png"))
        expect(page.get_by_text("正确答案", exact=False).first).to_be_visible()
