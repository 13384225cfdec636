"""Finding 2: a refused long question cannot ride into the search inside a short follow-up.

Before: a 10,000-character "question" was refused, stayed in the history, and "为什么？" then glued it
whole into the query (translated, embedded and BM25-scored each time): two such callers made
another learner's plain question take 32 s instead of 1.5 s."""
from __future__ import annotations

import pytest
from attack import app_events, call_event
from served import serve

pytestmark = pytest.mark.timeout(300)

PASTED = "这是一段粘贴进来的很长的网页内容。" * 600  # ~10,000 characters


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("dos")) as s:
        searched: list[str] = []
        real = s.bot.retriever.search

        def spy(query, *a, **kw):
            searched.append(query)
            return real(query, *a, **kw)

        s.bot.retriever.search = spy
        s.searched = searched
        yield s


def _chat(site, message: str, session: str) -> str:
    """The ``chat`` endpoint keeps the conversation in server-side session state, as the page does."""
    chat = next(e for e in app_events(site.url) if e["api_name"] == "chat")
    status, text = call_event(site.url, chat, [message, None, None][: len(chat["inputs"])], session_hash=session)
    assert status == 200, text[:300]
    return text


def test_a_refused_question_does_not_ride_into_the_follow_up(site):
    refused = _chat(site, PASTED, "pasted-session")
    assert "2000" in refused and not site.searched  # too long: refused, nothing searched
    _chat(site, "为什么？", "pasted-session")
    assert site.searched[-1] == "为什么？"  # the refused turn is not borrowed


def test_a_follow_up_borrows_at_most_a_clipped_turn(site):
    limit = site.settings.max_question_chars
    long_ok = "杠铃阅读法是一种什么样的阅读方法，" * (limit // 18)  # under the limit: answered
    assert len(long_ok) <= limit
    _chat(site, long_ok, "long-session")
    _chat(site, "为什么？", "long-session")
    assert site.searched[-1].endswith("为什么？") and site.searched[-1].startswith("杠铃阅读法")
    assert len(site.searched[-1]) < 300, len(site.searched[-1])


def test_refused_turns_leave_the_history():
    from ui.chat import plain_history

    h = [{"role": "user", "content": "什么是杠铃阅读法？"}, {"role": "assistant", "content": "只读两端。"},
         {"role": "user", "content": "x" * 5000}, {"role": "assistant", "content": "太长了"},
         {"role": "assistant", "content": "sources", "metadata": {"title": "📚"}}]
    assert plain_history(h, 2000) == h[:2]
    assert [m["content"] for m in plain_history(h)][-1] == "太长了"  # no limit given: kept, as before
    many = [{"role": "user", "content": f"问题{i}"} for i in range(5000)]
    assert [m["content"] for m in plain_history(many, 2000)][-1] == "问题4999" and len(plain_history(many)) <= 12


def test_contextual_query_clips_what_it_borrows():
    from bot.retrieval.retriever import BORROW_CHARS, contextual_query

    q = contextual_query("为什么？", [{"role": "user", "content": "很长" * 5000}])
    assert len(q) <= BORROW_CHARS + len(" 为什么？")


def test_a_pasted_topic_is_refused_before_it_is_searched(site):
    from bot.features.study_aids import StudyAidError, make_quiz

    before = len(site.searched)
    with pytest.raises(StudyAidError, match="under 200"):
        make_quiz(site.bot, topic="杠铃阅读法" * 2000)
    assert len(site.searched) == before


def test_the_ask_api_reads_a_sent_history_as_the_chat_does(site):
    """``ask`` takes the history from the (anonymous) caller: a pasted page in it is not borrowed, and a
    follow-up borrows at most a clipped turn, exactly as in the chat."""
    import json

    ask = next(e for e in app_events(site.url) if e["api_name"] == "ask")
    history = [{"role": "user", "content": PASTED}, {"role": "assistant", "content": "太长了。"}] * 40
    status, text = call_event(site.url, ask, ["为什么？", json.dumps(history, ensure_ascii=False)], session_hash="ask-1")
    assert status == 200 and '"success":true' in text and 'answer' in text, text[-300:]
    assert site.searched[-1] == "为什么？"
    history = [{"role": "user", "content": "杠铃阅读法是一种什么样的阅读方法，" * 100}, {"role": "assistant", "content": "…"}]
    call_event(site.url, ask, ["为什么？", json.dumps(history, ensure_ascii=False)], session_hash="ask-2")
    assert site.searched[-1].endswith("为什么？") and len(site.searched[-1]) < 300, site.searched[-1][:80]
