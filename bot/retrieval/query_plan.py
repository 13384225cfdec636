"""Query planning, the first retrieval stage: what to search for a question.

    planner = QueryPlanner(settings, index, chat_model)
    qp = planner.plan(question, history)   # QueryPlan(query, also, terms, failure)
    retriever.search(qp.query, k, qp.also, qp.terms)

- ``query``: the question made standalone: a follow-up ("那第二阶段呢？") is rewritten by the chat model
  (bot/retrieval/rewrite.py) or, without one, borrows the last user turn (``contextual_query``),
  clipped to the question limit.
- ``also``: other phrasings searched beside it: the query translated into the library's other
  language by the chat model (bot/retrieval/translate.py), when the library needs it.
- ``terms``: without a translation, the glossary's other-language terms (bot/retrieval/glossary.py),
  searched by BM25 alone.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from bot.core.settings import Settings
from bot.core.text import has_cjk
from bot.index.store import Index
from bot.retrieval.translate import TranslationCache

log = logging.getLogger("studybot")


@dataclass
class QueryPlan:
    query: str
    also: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    # The translation's model call failed; the answer would use the same model, so the answer
    # stage reports this failure instead of calling the model a second time.
    failure: Exception | None = None


class QueryPlanner:
    def __init__(self, settings: Settings, index: Index, chat_model: Callable[[], Any],
                 translations: TranslationCache | None = None) -> None:
        """``chat_model``: returns the model that translates (called only when a translation is needed);
        ``translations``: earlier translations to reuse (the process's, from bot/components.py)."""
        self.settings = settings
        self.index = index
        self.chat_model = chat_model
        self.translation_cache = translations
        self._langs_cache: tuple[int, dict[str, int]] | None = None

    def plan(self, question: str, history: list[dict] | None = None, *, query: str | None = None,
             also: list[str] | None = None, timings: dict | None = None) -> QueryPlan:
        """``query``/``also``: search these instead of the question (and its translation)."""
        if query is None:
            query = contextual_query(question, history)
            if query != question:  # a follow-up: the model's standalone question, when it gives one
                query = self.rewritten(question, history, timings) or query
        # The limit holds for what is searched, not only for what was typed.
        query = query[: self.settings.max_question_chars]
        failure: Exception | None = None
        if also is None:
            also = []
            if question:
                try:
                    also = self.translations(query, timings)
                except Exception as e:  # noqa: BLE001 - the same model would fail the answer: report it once
                    failure = e
        # The glossary stands in for a translation, never beside one: added to the local model's
        # translation its terms lowered retrieval on the dev set, cross-lingual questions most.
        terms = self.glossary_terms(query) if question and not also else []
        return QueryPlan(query, also, terms, failure)

    @property
    def model_at_hand(self) -> bool:
        """A real chat model is configured (not retrieval-only, not the test echo)."""
        return self.settings.llm not in ("none", "fake")

    def calls_model(self, question: str, history: list[dict] | None = None, *, query: str | None = None,
                    also: list[str] | None = None) -> bool:
        """Whether ``plan`` would ask the chat model first (to rewrite a follow-up or translate): the
        seconds the learner waits before the search, which a first look without the model can fill."""
        if not question or not self.model_at_hand:
            return False
        standalone = query or contextual_query(question, history)
        if query is None and standalone != question and self.settings.rewrite_followups:
            return True
        if also is None and self.settings.translate_queries:
            from bot.retrieval.translate import target_language

            return target_language(standalone, self.langs()) is not None
        return False

    def rewritten(self, question: str, history: list[dict] | None, timings: dict | None = None) -> str | None:
        """The follow-up as a standalone question by the chat model; None without one or when it fails
        (the rule's query is used: a follow-up still gets an answer)."""
        if not self.settings.rewrite_followups or not self.model_at_hand:
            return None
        from bot.retrieval.rewrite import rewrite_followup

        prev = last_question(history) or ""
        t = time.perf_counter()
        try:
            out = rewrite_followup(self.chat_model(), prev[:BORROW_CHARS], question)
        except Exception as e:  # noqa: BLE001 - the answer's own model call will report a dead model
            log.warning("follow-up rewrite failed: %s", e)
            return None
        if timings is not None:
            timings["rewrite_ms"] = round((time.perf_counter() - t) * 1000, 1)
        return out

    def translations(self, query: str, timings: dict | None = None) -> list[str]:
        """The query in the library's other language, when that helps and an LLM is at hand."""
        if not self.settings.translate_queries or not self.model_at_hand:
            return []
        from bot.retrieval.translate import target_language, translate

        target = target_language(query, self.langs())
        if target is None:
            return []
        t = time.perf_counter()
        out = translate(self.chat_model(), query, target, cache=self.translation_cache)
        if timings is not None:
            timings["translate_ms"] = round((time.perf_counter() - t) * 1000, 1)
        return [out] if out and out != query else []

    def glossary_terms(self, query: str) -> list[str]:
        """The question's field terms in the library's other language (bot/retrieval/glossary.py), as one
        keyword list for BM25; no model call."""
        if not self.settings.glossary:
            return []
        from bot.retrieval.glossary import glossary_phrasing
        from bot.retrieval.translate import target_language

        target = target_language(query, self.langs())
        if target is None:
            return []
        try:
            out = glossary_phrasing(query, target, self.settings.glossary_file)
        except (OSError, UnicodeDecodeError) as e:
            # A glossary file that went missing must not cost the learner an answer.
            log.warning("glossary file %s unreadable (%s): using the built-in glossary", self.settings.glossary_file, e)
            out = glossary_phrasing(query, target)
        return [out] if out else []

    def langs(self) -> dict[str, int]:
        """Passages per language in the library, read again only after an ingest commits."""
        gen = self.index.manifest.generation()
        if self._langs_cache is None or self._langs_cache[0] != gen:
            self._langs_cache = (gen, self.index.manifest.chunks_by_lang())
        return self._langs_cache[1]


_REFERENTIAL = re.compile(
    r"^(那|那么|这|它|他们|其|还有|然后|接下来|下一|上面|之后)|呢[？?]?$|\b(it|its|this|that|these|those|they|them|then|next|the second|the third)\b"
    r"|^(and|but|so|also)\b|\b(what|how) about\b",
    re.I,
)


BORROW_CHARS = 200


def last_question(history: list[dict] | None) -> str | None:
    """The learner's last question in the conversation, if any."""
    return next((m.get("content") for m in reversed(history or []) if m.get("role") == "user" and m.get("content")), None)


def contextual_query(question: str, history: list[dict] | None) -> str:
    """Rewrite a follow-up ("那第二阶段呢？") into a standalone retrieval query using the last user turn."""
    if not history:
        return question
    prev = last_question(history)
    if not isinstance(prev, str) or not prev.strip():
        return question
    q = question.strip()
    # Only a fragment ("多久？", "why?") leans on the last turn by length alone; a short question
    # with its own subject ("What is the barbell reading method?") stands on its own.
    fragment = len(re.sub(r"\W", "", q)) <= 4 if has_cjk(q) else len(q.split()) <= 2
    if fragment or _REFERENTIAL.search(q):
        # The turn borrowed is clipped as the prompt clips it: whole, a pasted page (refused as a
        # question) came back inside every short follow-up's query and slowed everyone's search.
        prev = prev.strip()[:BORROW_CHARS]
        if _ORDINAL.search(q):
            # "那第二阶段呢？" after "第一阶段学什么？": the new number replaces the old one. Kept, the
            # old one matches every sibling passage ("第一/三/六阶段…") as well as the one asked for.
            prev = re.sub(r"\s+", " ", _ORDINAL.sub("", prev)).strip() or prev
        return f"{prev} {q}"
    return question


# An ordinal or numbered item: 第二阶段 / 第3章 / step 2 / the second / chapter 5.
_ORDINAL = re.compile(
    r"第\s*[一二三四五六七八九十百\d]+|\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)\b"
    r"|\b(?:step|stage|phase|part|chapter|week|month|lesson|level)\s*\d+\b",
    re.I,
)
