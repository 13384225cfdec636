"""StudyBot: the one facade the CLI, the UI and the evals call. It wires the settings, the index,
the retriever and the model together and hands the work to the layers below.

    bot = StudyBot(settings, components=Components(settings))   # bot/components.py: built once per process
    bot.search("什么是杠铃阅读法？", k=5) -> list[Hit]
    for ev in bot.ask_stream(question, history=[{"role": ..., "content": ...}, ...]):
        ev.kind == "token" -> ev.text is the next piece of the answer
        ev.kind == "done"  -> ev.answer is the final Answer
    bot.ask(question, history=None) -> Answer
    bot.roadmap({"goal": ..., "hours_per_week": 5, "months": 3}) -> Roadmap (bot.features.roadmap.build)

A question's path, stage by stage, is bot.answering.pipeline (route -> retrieve -> gate -> prompt
-> generate -> check); retrieval's own stages are in bot.retrieval.retriever.
``ask_stream(..., plan=roadmap_json)`` answers questions about the learner's own roadmap
("第二阶段具体学什么？") from that plan (the route stage, ``bot.features.roadmap.followup.roadmap_route``).
"""
from __future__ import annotations

import logging
from functools import cached_property
from typing import Iterator

from bot.answering.pipeline import Answer, AnswerPipeline, Event  # noqa: F401 - Answer and Event are part of the facade
from bot.components import Components
from bot.core.lazy import Lazy
from bot.core.settings import Settings
from bot.core.types import Hit
from bot.index.store import Index
from bot.retrieval.gate import refuses
from bot.retrieval.query_plan import QueryPlanner
from bot.retrieval.retriever import FusionConfig, Retriever

log = logging.getLogger("studybot")


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
        self._chat = Lazy(self._load_chat_model)

    # --- retrieval -----------------------------------------------------------
    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.retriever.search(query, k, (), self.glossary_terms(query))

    def describe_llm(self) -> tuple[str, str]:
        from bot.providers.llm import describe_llm

        return describe_llm(self.settings)

    def chat_model(self):
        """The chat model, loaded on first use (once, however many sessions ask at the same moment)."""
        return self._chat()

    def use_chat_model(self, model) -> None:
        """Answer with ``model`` from now on (a model the caller already has, or a test's stub)."""
        self._chat = Lazy(lambda: model)

    def _load_chat_model(self):
        from bot.providers.llm import make_chat_model

        return make_chat_model(self.settings, llamas=self.components.llamas)

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
                             prose_timeout=self.settings.roadmap_prose_timeout, library=self.roadmap_library())

    def reword_roadmap(self, rm):
        """The same plan with the model's prose (unchanged when there is no model)."""
        from bot.features.roadmap.build import reword_roadmap

        return reword_roadmap(rm, self.prose_model(), prose_timeout=self.settings.roadmap_prose_timeout,
                              library=self.roadmap_library())

    def roadmap_library(self):
        """The curricula ingest found in this library, matched with the index's embedder (read per
        plan: an admin's new curriculum counts from the next roadmap on)."""
        from bot.features.roadmap.library import Library, embedder_similarity

        embedder = self.index.embedder
        vectors = self.components.shared(("roadmap-passage-vectors", getattr(embedder, "model_id", "")), dict)
        return Library(self.index.manifest.curricula(), embedder_similarity(embedder, vectors))

    # --- answering -----------------------------------------------------------
    def ask_stream(self, question: str, history: list[dict] | None = None, plan=None) -> Iterator[Event]:
        """``plan``: the learner's current roadmap (Roadmap, its JSON, or None). A question that
        names one of its stages is answered from the plan first, then from passages on the stage's topics."""
        yield from self._pipeline().run(question, history, plan)

    def _pipeline(self) -> AnswerPipeline:
        # Built per question (it is only references): a model or retriever swapped in later is used.
        from bot.features.roadmap.followup import roadmap_route

        return AnswerPipeline(self.settings, self.index, self.retriever, self.planner, chat_model=self.chat_model,
                              describe_llm=self.describe_llm, router=roadmap_route,
                              queue=self.components.model_queue)

    @cached_property
    def planner(self) -> QueryPlanner:
        """What to search for a question: standalone query, translation, glossary terms."""
        return QueryPlanner(self.settings, self.index, lambda: self.chat_model(),
                            translations=self.components.translations)

    def refuses(self, query: str, hits: list[Hit], also: list[str] | tuple[str, ...] = ()) -> bool:
        """Whether the library does not cover the question (bot/retrieval/gate.py)."""
        return refuses(query, hits, also, self.settings, self.planner.langs)

    def unmentioned(self, query: str, also: list[str] | tuple[str, ...] = ()) -> list[str]:
        """What the question names or asks about that the library never mentions (bot/retrieval/gate.py)."""
        return self._pipeline().unmentioned(query, also)

    def translations(self, query: str, timings: dict | None = None) -> list[str]:
        """The query in the library's other language, when that helps and an LLM is at hand."""
        return self.planner.translations(query, timings)

    def glossary_terms(self, query: str) -> list[str]:
        """The question's field terms in the library's other language, as one keyword list for BM25."""
        return self.planner.glossary_terms(query)

    def ask(self, question: str, history: list[dict] | None = None, plan=None) -> Answer:
        ans = None
        for ev in self.ask_stream(question, history, plan):
            if ev.kind == "done":
                ans = ev.answer
        assert ans is not None
        return ans
