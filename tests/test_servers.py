"""STUDYBOT_LLM=openai against a real OpenAI-compatible server: `python -m llama_cpp.server` with the
bundled 0.5B GGUF, started on loopback by the test. The wire-format edge cases are in
tests/test_llm_providers.py (stub servers); here the real server answers through StudyBot, streams,
and dies mid-answer."""
from __future__ import annotations

import time

import pytest
from servers import LLAMA_ALIAS, gguf_05b, llama_server_cmd, new_port, serve

from bot.service import StudyBot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

QUESTION = "什么是杠铃阅读法？"


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    model = gguf_05b()
    port = new_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with serve(llama_server_cmd(model, port), "/v1/models", log, port) as srv:
        yield srv


def openai_settings(seed_index, srv, **kw):
    return seed_index.with_overrides(llm="openai", openai_base_url=srv.url + "/v1", openai_model=LLAMA_ALIAS,
                                     **{"max_tokens": 48, "llm_timeout": 120.0, **kw})


def test_question_answered_with_citations_through_llama_cpp_server(seed_index, components, llama_server):
    bot = StudyBot(openai_settings(seed_index, llama_server), components=components)
    assert bot.describe_llm() == ("openai", LLAMA_ALIAS)
    tokens, answer = [], None
    for ev in bot.ask_stream(QUESTION):
        if ev.kind == "token":
            tokens.append(ev.text)
        elif ev.kind == "done":
            answer = ev.answer
    assert answer is not None and answer.status == "ok", (answer.status, answer.text)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in answer.text)
    assert answer.citations and any("杠铃阅读法" in (c.section or "") for c in answer.citations)
    # Streamed: the answer arrived in several pieces, the first before the end.
    assert len(tokens) >= 3, tokens
    assert answer.timings["first_token_ms"] is not None
    # ...and it really came from the server (its access log), not from some in-process model.
    assert "POST /v1/chat/completions" in llama_server.log_text()


def test_llama_cpp_server_that_dies_mid_answer_gives_a_clear_error(seed_index, components, tmp_path):
    model = gguf_05b()
    port = new_port()
    with serve(llama_server_cmd(model, port), "/v1/models", tmp_path / "server.log", port) as srv:
        # A long answer, and a timeout far beyond the test: a hang would end in "did not answer", not this.
        s = openai_settings(seed_index, srv, max_tokens=400, llm_timeout=600.0)
        bot = StudyBot(s, components=components)
        tokens, answer, killed_at = [], None, None
        for ev in bot.ask_stream(QUESTION):
            if ev.kind == "token":
                tokens.append(ev.text)
                if killed_at is None:
                    srv.kill()  # SIGKILL after the first token: the stream is cut mid-answer
                    killed_at = time.monotonic()
            elif ev.kind == "done":
                answer = ev.answer
        assert killed_at is not None, "the server never streamed a token"
        assert answer is not None and answer.status == "llm_error", (answer and answer.status)
        assert "closed the connection in the middle of the answer" in answer.text, answer.text
        assert "OpenAI-compatible API at " + srv.url in answer.text
        # The passages still come with the error, and what was streamed before the cut is kept.
        assert answer.citations
        assert answer.text.startswith(tokens[0])
