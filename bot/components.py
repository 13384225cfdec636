"""Components: everything a studybot process builds once and shares, in one object built at start-up.

    components = Components(settings)            # ui.cli, ui.app.serve, the evals, a test fixture
    bot = StudyBot(settings, components=components)
    ingest(paths, settings, index=components.index())
    components.background_embedding()            # the served app: fill in missing vectors

It owns the open indexes (one per location), the embedders (one loaded model per configuration),
the loaded llama.cpp models, the cross-encoder scorers, the translation cache, the quiz/flashcard
fact pool, the feedback store, the background embedders and the re-index jobs. Nothing in bot/,
ingest/ or ui/ keeps a module-level cache or registry (tests/test_components.py checks): two
Components are two independent worlds, so a test (or a process serving two libraries) builds a
fresh one instead of resetting globals.

Settings can differ per call (``StudyBot(settings.with_overrides(llm="none"), components=c)``):
each part is keyed by the settings that make it what it is, so such a bot still shares the index
and the models. Every part is built on first use under one lock, as the UI's sessions ask from
several threads at once.

This module sits at the service layer (it builds parts of every layer below); bot.service and the
packages above (ingest, ui, evals) receive it.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Hashable, TypeVar

from bot.core.model_queue import ModelQueue
from bot.core.settings import Settings, get_settings
from bot.features.study_aids import FactPool
from bot.index.background_embed import POLL_S, BackgroundEmbedder
from bot.index.store import Index, index_key
from bot.providers.embeddings import embedder_key, make_embedder
from bot.providers.llm import LlamaHandles
from bot.retrieval.rerank import Reranker, check_cross_encoder, cross_encoder, reranker_from_settings
from bot.retrieval.translate import TranslationCache

T = TypeVar("T")


class Components:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        # Re-entrant: building an index asks for its embedder under the same lock.
        self._lock = threading.RLock()
        self._indexes: dict[tuple, Index] = {}
        self._embedders: dict[tuple, Any] = {}
        self._scorers: dict[Path, Any] = {}
        self._feedback: dict[Path, Any] = {}
        self._background: dict[int, tuple[Index, BackgroundEmbedder]] = {}
        self._shared: dict[Hashable, Any] = {}
        # Cheap to build and needed by most runs: made now.
        self.llamas = LlamaHandles()
        self.translations = TranslationCache()
        self.fact_pool = FactPool()
        # Turns at the chat model, shared by every chat of the process (the learner app, the API);
        # background embedding and re-index wait on it while answers are being written.
        self.model_queue = ModelQueue(self.settings.slots())

    def _settings(self, settings: Settings | None) -> Settings:
        return settings if settings is not None else self.settings

    # --- retrieval -----------------------------------------------------------------------------
    def embedder(self, settings: Settings | None = None):
        """The embedder ``settings`` name; one loaded model per configuration."""
        s = self._settings(settings)
        key = embedder_key(s)
        with self._lock:
            if key not in self._embedders:
                self._embedders[key] = make_embedder(s)
            return self._embedders[key]

    def index(self, settings: Settings | None = None) -> Index:
        """The index at ``settings.index_dir`` (default: this process's), opened once: the chat, the
        admin's re-index and the background embedder share its caches and locks."""
        s = self._settings(settings)
        key = index_key(s)
        with self._lock:
            if key not in self._indexes:
                index = Index(s, embedder=self.embedder(s))
                index.yield_to = self._yield_to_chat
                self._indexes[key] = index
            return self._indexes[key]

    def _yield_to_chat(self) -> None:
        """Before each embedding batch: let the answers being written have the CPU (for at most
        ``background_wait_s``, so the library still fills in under a steady stream of questions)."""
        self.model_queue.wait_idle(self.settings.background_wait_s)

    def cross_encoder(self, path: str | Path):
        """The scorer for a cross-encoder folder, validated now, loaded once on first use."""
        p = check_cross_encoder(path)
        with self._lock:
            if p not in self._scorers:
                self._scorers[p] = cross_encoder(p)
            return self._scorers[p]

    def reranker(self, settings: Settings | None = None) -> Reranker | None:
        """The configured re-ranker (None when ``settings.reranker`` is unset); raises RerankerError
        for a folder that is not a cross-encoder."""
        return reranker_from_settings(self._settings(settings), self.cross_encoder)

    # --- features ------------------------------------------------------------------------------
    def feedback(self, settings: Settings | None = None):
        """The learners' votes database for ``settings`` (bot/features/feedback.py)."""
        from bot.features.feedback import FeedbackStore, feedback_path

        path = feedback_path(self._settings(settings)).resolve()
        with self._lock:
            if path not in self._feedback:
                self._feedback[path] = FeedbackStore(path)
            return self._feedback[path]

    # --- background work -----------------------------------------------------------------------
    def background_embedding(self, index: Index | None = None, poll_s: float = POLL_S) -> BackgroundEmbedder:
        """Start (once per index) the thread that embeds pending chunks; returns it."""
        index = index or self.index()
        with self._lock:
            held = self._background.get(id(index))
            if held is None or not held[1].thread.is_alive():
                held = (index, BackgroundEmbedder(index, poll_s))  # the index is held: its id stays its own
                self._background[id(index)] = held
                held[1].thread.start()
            return held[1]

    def stop_background_embedding(self, index: Index | None = None, timeout: float | None = None) -> None:
        index = index or self.index()
        with self._lock:
            held = self._background.pop(id(index), None)
        if held is not None:
            held[1].stop(timeout)

    def shared(self, key: Hashable, build: Callable[[], T]) -> T:
        """A part that a package above bot defines, built once per key and then the same for every
        caller: ingest's re-index job (``ingest.reindex.reindex_job``), so a second admin tab joins
        the run of the first."""
        with self._lock:
            if key not in self._shared:
                self._shared[key] = build()
            return self._shared[key]
