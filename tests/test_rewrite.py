"""Follow-ups rewritten into standalone questions by the chat model (bot/retrieval/rewrite.py), with the
rule-based rewrite as the fallback."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from conftest import make_settings

from bot.retrieval.query_plan import QueryPlanner, contextual_query
from bot.retrieval.rewrite import clean_rewrite

HISTORY = [{"role": "user", "content": "What is BPE tokenization?"},
           {"role": "assistant", "content": "Byte-Pair Encoding learns merge rules."}]


class Chat:
    def __init__(self, reply=None, error: Exception | None = None) -> None:
        self.reply, self.error, self.calls = reply, error, []

    def invoke(self, msgs, **kw):
        self.calls.append(msgs)
        if self.error:
            raise self.error
        return SimpleNamespace(content=self.reply)


class Index:
    manifest = SimpleNamespace(generation=lambda: 1, chunks_by_lang=lambda: {"en": 100})


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "lib", tmp_path / "idx", llm="openai", translate_queries=False, glossary=False)


def planner(settings, chat) -> QueryPlanner:
    return QueryPlanner(settings, Index(), lambda: chat)


def test_a_follow_up_is_searched_as_the_models_standalone_question(settings):
    chat = Chat("Which models use BPE tokenization?")
    qp = planner(settings, chat).plan("Which models use it?", HISTORY, timings=(t := {}))
    assert qp.query == "Which models use BPE tokenization?" and "rewrite_ms" in t
    prompt = chat.calls[0][-1].content
    assert "What is BPE tokenization?" in prompt and "Which models use it?" in prompt


@pytest.mark.parametrize("chat", [
    Chat("BPE is used by GPT-2 and RoBERTa, which merge frequent pairs of characters into tokens over "
         "many rounds until the vocabulary reaches its target size."),  # an answer, not a question
    Chat("哪些模型使用 BPE？"),  # the other language
    Chat(""),
    Chat(error=ConnectionError("model down")),
])
def test_without_a_usable_rewrite_the_rule_borrows_the_last_question(settings, chat):
    qp = planner(settings, chat).plan("Which models use it?", HISTORY)
    assert qp.query == contextual_query("Which models use it?", HISTORY) and chat.calls


def test_the_model_is_not_asked_for_a_question_that_stands_alone_or_without_an_llm(settings):
    chat = Chat("unused")
    assert planner(settings, chat).plan("What is WordPiece?", HISTORY).query == "What is WordPiece?"
    off = planner(settings.with_overrides(rewrite_followups=False), chat).plan("Which models use it?", HISTORY)
    none = planner(settings.with_overrides(llm="none"), chat).plan("Which models use it?", HISTORY)
    assert off.query == none.query == contextual_query("Which models use it?", HISTORY) and not chat.calls


def test_clean_rewrite_strips_labels_and_quotes():
    assert clean_rewrite("改写后的问题：「第二阶段要学什么？」\n解释…", "那第二阶段呢？", "第一阶段学什么？") == "第二阶段要学什么？"
