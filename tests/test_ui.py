"""The chat UI: the `chat` API endpoint through gradio_client, and a real browser (Debian Chromium)."""
from __future__ import annotations

import re

import pytest
from browser import ARTIFACTS, browser_page, served_app


pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def app_url(seed_index):
    with served_app(seed_index.with_overrides(llm="fake")) as url:
        yield url


def _messages(result) -> list[dict]:
    if isinstance(result, dict):
        return [result]
    return list(result)


def test_chat_endpoint_returns_answer_and_cited_sources(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    result = client.predict("什么是杠铃阅读法？", api_name="/chat")
    msgs = _messages(result)
    text = " ".join(str(m.get("content")) for m in msgs)
    assert "杠铃" in text
    titled = [m for m in msgs if (m.get("metadata") or {}).get("title")]
    # The evidence first (open, the best sentences in bold inside their passage), the sources last.
    assert titled and titled[0]["metadata"]["title"].startswith("📌 资料原文") and msgs[0] is titled[0], msgs
    assert "**" in titled[0]["content"] and re.search(r"<sub>\[\d\] ", titled[0]["content"])
    sources = [m for m in titled if m["metadata"]["title"].startswith("📚")]
    assert sources and "来源" in sources[0]["metadata"]["title"]
    assert "杠铃阅读法" in sources[0]["content"] and ">" in sources[0]["content"]


def test_ask_endpoint_reads_a_follow_up_against_the_history_it_is_sent(app_url):
    import json

    from gradio_client import Client

    client = Client(app_url, verbose=False)
    history = json.dumps([{"role": "user", "content": "什么是杠铃阅读法？"},
                          {"role": "assistant", "content": "一头读经典，一头读前沿。"}], ensure_ascii=False)
    alone = json.loads(client.predict("它有什么好处？", "[]", api_name="/ask"))
    followed = json.loads(client.predict("它有什么好处？", history, api_name="/ask"))
    for out in (alone, followed):
        assert {"answer", "status", "evidence", "citations", "timings"} <= set(out)
        assert all(not c["path"].startswith("/") for c in out["citations"])  # as learners see paths
    # The history made the follow-up about the barbell method; alone it is not about anything.
    assert any("杠铃" in c["quote"] or "杠铃" in c["title"] for c in followed["citations"])
    assert followed["citations"] != alone["citations"]
    with pytest.raises(Exception, match="history"):
        client.predict("它有什么好处？", '{"role": "user"}', api_name="/ask")


def test_english_question_gets_english_labels(app_url):
    from gradio_client import Client

    msgs = _messages(Client(app_url, verbose=False).predict(
        "What does the study plan recommend in the first three months?", api_name="/chat"))
    titles = [(m.get("metadata") or {}).get("title") or "" for m in msgs]
    assert any(t.startswith("📚 Sources") for t in titles) and titles[0].startswith("📌 From the library"), titles


def test_browser_chinese_question_shows_answer_with_citation(app_url):
    from playwright.sync_api import expect

    with browser_page(app_url) as page:
        expect(page.get_by_text("fake", exact=False).first).to_be_visible(timeout=30_000)  # provider badge
        box = page.locator("#sb-input textarea")
        box.fill("什么是杠铃阅读法？")
        box.press("Enter")
        sources = page.get_by_text("📚 来源", exact=False).first
        expect(sources).to_be_visible(timeout=60_000)
        chat = page.locator("#sb-chat")
        quote = chat.locator("blockquote").first
        expect(chat).to_contain_text("fake:fake", timeout=30_000)  # the footer: the answer is complete
        page.wait_for_timeout(500)
        if not _shown(quote):  # the sources panel starts collapsed: open it as a learner would
            sources.click()
        expect(quote).to_be_visible(timeout=10_000)
        expect(quote).to_contain_text("杠铃", timeout=10_000)
        assert _shown(quote)
        expect(chat).to_contain_text("杠铃阅读法", timeout=10_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "ui_chat_zh.png"))  # full_page resizes, and Gradio re-collapses
    assert (ARTIFACTS / "ui_chat_zh.png").stat().st_size > 10_000


def _shown(locator) -> bool:
    box = locator.bounding_box() if locator.count() else None
    return bool(box and box["height"] > 4 and locator.is_visible())
