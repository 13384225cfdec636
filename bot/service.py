"""StudyBot: the one facade the CLI, the UI and the evals call.

    bot = StudyBot(settings, components=Components(settings))   # bot/components.py: built once per process
    bot.search("什么是杠铃阅读法？", k=5) -> list[Hit]
    for ev in bot.ask_stream(question, history=[{"role": ..., "content": ...}, ...]):
        ev.kind == "token" -> ev.text is the next piece of the answer
        ev.kind == "done"  -> ev.answer is the final Answer
    bot.ask(question, history=None) -> Answer
    bot.roadmap({"goal": ..., "hours_per_week": 5, "months": 3}) -> Roadmap (bot.features.roadmap.build)

``ask_stream(..., plan=roadmap_json)`` answers questions about the learner's own roadmap
("第二阶段具体学什么？") from that plan (see ``bot.features.roadmap.followup``).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

from bot.answering.chain import (
    LLM_FAILED,
    NOT_COVERED,
    TOO_LONG,
    UNGROUNDED_NOTE,
    answer_lang,
    build_messages,
    citations_for,
    model_declined,
    retrieval_only_text,
)
from bot.answering.grounding import ungrounded
from bot.components import Components
from bot.core.settings import Settings
from bot.core.text import question_lang
from bot.core.types import Citation, Hit
from bot.index.store import Index
from bot.retrieval.retriever import FusionConfig, Retriever, contextual_query

log = logging.getLogger("studybot")


@dataclass
class Answer:
    text: str
    citations: list[Citation]
    provider: str
    model: str
    # ok | declined (the model found no answer in the passages) | ungrounded (the passages don't
    # support its answer) | retrieval_only | llm_error | not_covered | too_long (not searched)
    status: str = "ok"
    timings: dict = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    query: str = ""
    also: list[str] = field(default_factory=list)  # other phrasings searched (translations)

    def to_json(self) -> dict:
        return {
            "answer": self.text,
            "citations": [c.to_json() for c in self.citations],
            "provider": self.provider,
            "model": self.model,
            "status": self.status,
            "timings": self.timings,
        }


@dataclass
class Event:
    kind: str  # token | done
    text: str = ""
    answer: Answer | None = None


class StudyBot:
    def __init__(self, settings: Settings | None = None, *, components: Components | None = None,
                 index: Index | None = None, fusion: FusionConfig | None = None) -> None:
        """``components``: the process's shared parts (index, models, caches; bot/components.py).
        Without them the bot builds its own, which a one-shot script may do; anything serving or
        running several bots passes one. ``fusion`` replaces the whole retrieval configuration, the
        ``reranker`` setting included."""
        self.components = components if components is not None else Components(settings)
        self.settings = settings or self.components.settings
        if fusion is None:
            # Checked before the index opens: a wrong STUDYBOT_RERANKER fails here, in one line.
            fusion = FusionConfig(rerank=self.components.reranker(self.settings))
        self.index = index or self.components.index(self.settings)
        self.retriever = Retriever(self.index, fusion)
        self.fact_pool = self.components.fact_pool  # quizzes and flashcards (bot.features.study_aids)
        self._model = None
        self._model_lock = threading.Lock()
        self._langs_cache: tuple[int, dict[str, int]] | None = None

    # --- retrieval -----------------------------------------------------------
    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.retriever.search(query, k, (), self.glossary_terms(query))

    def describe_llm(self) -> tuple[str, str]:
        from bot.providers.llm import describe_llm

        return describe_llm(self.settings)

    def chat_model(self):
        if self._model is None:
            with self._model_lock:
                if self._model is None:
                    from bot.providers.llm import make_chat_model

                    self._model = make_chat_model(self.settings, llamas=self.components.llamas)
        return self._model

    # --- roadmaps -------------------------------------------------------------
    def prose_model(self):
        """The model that words roadmap prose, or None (``llm=none``, or it cannot be loaded: the plan
        is complete without it)."""
        if self.settings.llm == "none":
            return None
        try:
            return self.chat_model()
        except Exception as e:  # noqa: BLE001 - a missing model must not cost the learner the plan
            log.warning("roadmap prose: no model (%s); using templated prose", e)
            return None

    def roadmap(self, profile, *, prose: bool = True):
        """A roadmap grounded in this library. ``prose=False`` skips the model (instant; see
        ``reword_roadmap``). Raises pydantic.ValidationError for a bad profile, RoadmapError for an
        empty or broken index."""
        from bot.features.roadmap.build import build_roadmap

        return build_roadmap(profile, self.search, self.prose_model() if prose else None,
                             prose_timeout=self.settings.roadmap_prose_timeout)

    def reword_roadmap(self, rm):
        """The same plan with the model's prose (unchanged when there is no model)."""
        from bot.features.roadmap.build import reword_roadmap

        return reword_roadmap(rm, self.prose_model(), prose_timeout=self.settings.roadmap_prose_timeout)

    # --- answering -----------------------------------------------------------
    def ask_stream(self, question: str, history: list[dict] | None = None, plan=None) -> Iterator[Event]:
        """``plan``: the learner's current roadmap (Roadmap, its JSON, or None). A question that
        names one of its stages is answered from the plan first, then from passages on the stage's topics."""
        from bot.features.roadmap.followup import plan_followup

        followup = plan_followup(question, plan)
        if followup is None:
            yield from self._answer_stream(question, history)
            return
        yield Event("token", followup.preface)
        for ev in self._answer_stream(followup.question, history, query=followup.query, also=followup.also):
            if ev.kind == "done" and ev.answer is not None:
                ev.answer.text = followup.preface + ev.answer.text
            yield ev

    def _answer_stream(self, question: str, history: list[dict] | None = None, *, query: str | None = None,
                       also: list[str] | None = None) -> Iterator[Event]:
        """``query``/``also``: search these instead of the question (and its translation)."""
        t0 = time.perf_counter()
        provider, model = self.describe_llm()
        question = (question or "").strip()
        lang = answer_lang(question)
        timings = {"retrieve_ms": None, "first_token_ms": None, "total_ms": None}
        if len(question) > self.settings.max_question_chars:
            # Pasted pages, not a question: translated and prompted whole they overflowed the local
            # model's context and the learner read "the language model is unavailable".
            text = TOO_LONG[lang].format(n=len(question), max=self.settings.max_question_chars)
            yield Event("token", text)
            yield Event("done", answer=Answer(text, [], provider, model, "too_long", timings, [], question[:200], []))
            return
        # The limit holds for what is searched, not only for what was typed.
        query = (query or contextual_query(question, history))[: self.settings.max_question_chars]
        failure: Exception | None = None
        if also is None:
            also = []
            if question:
                try:
                    also = self.translations(query, timings)
                except Exception as e:  # noqa: BLE001 - the same model would fail the answer: report it once
                    failure = e
        # The glossary stands in for a translation, never beside one: with the 1.5B's translation,
        # adding its terms lowered dev hit@5 0.889 -> 0.870 (cross-lingual 0.85 -> 0.80).
        terms = self.glossary_terms(query) if question and not also else []
        hits = self.retriever.search(query, self.settings.top_k, also, terms) if question else []
        timings["retrieve_ms"] = round((time.perf_counter() - t0) * 1000, 1)

        def done(text: str, status: str, cites: list[Citation]) -> Event:
            timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            return Event("done", answer=Answer(text, cites, provider, model, status, timings, hits, query, also))

        if self.refuses(query, hits, also):
            text = NOT_COVERED[lang]
            yield Event("token", text)
            yield done(text, "not_covered", [])
            return
        focus = " ".join([query, *also, *terms])
        weight = self.index.bm25().idf_of
        cites = citations_for(hits, focus, weight)
        if self.settings.llm == "none":
            text = retrieval_only_text(question, hits, cites)
            timings["first_token_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            yield Event("token", text)
            yield done(text, "retrieval_only", cites)
            return

        parts: list[str] = []
        try:
            if failure is not None:
                raise failure
            chat = self.chat_model()
            # The previous exchange only for a follow-up: beside a new question it is noise the small
            # model copies (after a refusal it refused a question the passages answered).
            msgs = build_messages(question, hits, history if query != question else None,
                                  context_chars=self.settings.prompt_chars(), focus=focus, weight=weight)
            for chunk in chat.stream(msgs):
                piece = chunk.content if isinstance(chunk.content, str) else ""
                if not piece:
                    continue
                if timings["first_token_ms"] is None:
                    timings["first_token_ms"] = round((time.perf_counter() - t0) * 1000, 1)
                parts.append(piece)
                yield Event("token", piece)
        except Exception as e:  # noqa: BLE001 - any provider failure becomes a message plus the passages
            from bot.providers.llm import explain_error

            log.warning("LLM failed: %s", e)
            msg = LLM_FAILED[lang].format(err=explain_error(e, self.settings))
            body = retrieval_only_text(question, hits).split("\n", 1)[1]
            text = ("".join(parts) + "\n\n" if parts else "") + msg + body
            yield Event("token", ("\n\n" if parts else "") + msg + body)
            yield done(text, "llm_error", cites)
            return
        text = "".join(parts).strip()
        if not text:
            text = retrieval_only_text(question, hits)
            yield Event("token", text)
            yield done(text, "retrieval_only", cites)
            return
        # The passages were the closest the library had, not the support of an answer: the UI says so.
        if model_declined(text):
            yield done(text, "declined", cites)
        elif self.settings.ungrounded_below and ungrounded(text, question, hits, self.settings.ungrounded_below):
            # The model answered from its own weights (a recipe, asked over AI study notes): the text
            # has streamed, so the warning follows it.
            yield Event("token", UNGROUNDED_NOTE[lang])
            yield done(text + UNGROUNDED_NOTE[lang], "ungrounded", cites)
        else:
            yield done(text, "ok", cites)

    def refuses(self, query: str, hits: list[Hit], also: list[str] | tuple[str, ...] = ()) -> bool:
        """Whether the library does not cover the question (the chat then says so instead of guessing).

        ``also``: the phrasings searched besides ``query`` (its translation). Similarity is only
        comparable within a language (e5 scores a question lower against any passage in the other
        language), so only passages in a language of some phrasing are judged, and a question that
        needed a translation it did not get is not refused."""
        s = self.settings
        if not hits or hits[0].score < s.relevance_floor:
            return True
        if s.refuse_below_match <= 0:
            return False
        if not also:
            from bot.retrieval.translate import target_language

            if target_language(query, self._langs()) is not None:
                # An English question over a largely Chinese library scores as low against the
                # passage that answers it as an off-topic one does (dev: 0.80-0.86 both), so
                # without a translation the bot cannot tell and shows what it found.
                return False
        langs = {question_lang(q) for q in (query, *also) if q}
        judged = [h for h in hits if (h.chunk.lang or "en") in langs]
        if not judged:
            return False
        match = max((h.match for h in hits if h.match is not None), default=None)
        cosine = max((h.dense for h in judged if h.dense is not None), default=None)
        if match is None or cosine is None:
            return False  # no evidence either way (e.g. re-scoring off, vectors still pending)
        return match < s.refuse_below_match and cosine < s.refuse_below_cosine

    def translations(self, query: str, timings: dict | None = None) -> list[str]:
        """The query in the library's other language, when that helps and an LLM is at hand."""
        if not self.settings.translate_queries or self.settings.llm in ("none", "fake"):
            return []
        from bot.retrieval.translate import target_language, translate

        target = target_language(query, self._langs())
        if target is None:
            return []
        t = time.perf_counter()
        out = translate(self.chat_model(), query, target, cache=self.components.translations)
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

        target = target_language(query, self._langs())
        if target is None:
            return []
        try:
            out = glossary_phrasing(query, target, self.settings.glossary_file)
        except (OSError, UnicodeDecodeError) as e:
            # A glossary file that went missing must not cost the learner an answer.
            log.warning("glossary file %s unreadable (%s): using the built-in glossary", self.settings.glossary_file, e)
            out = glossary_phrasing(query, target)
        return [out] if out else []

    def _langs(self) -> dict[str, int]:
        gen = self.index.manifest.generation()
        if self._langs_cache is None or self._langs_cache[0] != gen:
            self._langs_cache = (gen, self.index.manifest.chunks_by_lang())
        return self._langs_cache[1]

    def ask(self, question: str, history: list[dict] | None = None, plan=None) -> Answer:
        ans = None
        for ev in self.ask_stream(question, history, plan):
            if ev.kind == "done":
                ans = ev.answer
        assert ans is not None
        return ans
