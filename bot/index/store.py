"""The library index: manifest (truth) + Chroma vectors + BM25, kept consistent with each other."""
from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.core.settings import Settings
from bot.core.types import Chunk
from bot.index.dense_exact import ExactDense
from bot.index.lexical import BM25
from bot.index.manifest import Manifest
from bot.index.vectors import VectorStore
from bot.providers.embeddings import EmbedderMismatch, make_embedder

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def index_text(chunk: Chunk) -> str:
    """What gets embedded and BM25-indexed: the passage with its title and section as context, and
    a newsletter item's site ("promptingguide.ai"): its headline shows only the link's words."""
    head = " · ".join(x for x in (chunk.title, chunk.section, _site(chunk.link)) if x)
    return f"{head}\n{chunk.text}" if head else chunk.text


def _site(link: str | None) -> str | None:
    m = re.match(r"https?://(?:www\.)?([^/:?#\s]+)", link or "", re.I)
    return m.group(1).lower() if m else None


# A scoped dense search on an index past the exact limit filters a graph search this many times deeper.
SCOPED_GRAPH_DEPTH = 20


class Index:
    """One library location. A process opens each location once (``bot.components.Components.index``)
    so the chat, the admin's re-index and the background embedder share its caches and locks.

    ``embedder``: the process's shared embedder (default: a new one, loaded on first use)."""

    def __init__(self, settings: Settings, embedder: Embeddings | None = None) -> None:
        self.settings = settings
        self.dir = Path(settings.index_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.manifest = Manifest(self.dir / "manifest.sqlite")
        self.embedder = embedder if embedder is not None else make_embedder(settings)
        self.vectors = VectorStore(self.dir, settings.collection, self.embedder.model_id, settings.chroma_url)
        self.dense = ExactDense(self.vectors, self.manifest, settings.exact_dense_limit)
        self._bm25: BM25 | None = None
        self._bm25_lock = threading.RLock()
        self._embed_lock = threading.RLock()
        # Set by a writer that committed chunks still waiting for vectors; a background embedder on
        # this index (bot/index/background_embed.py) sleeps on it, so it starts on them at once.
        self.pending = threading.Event()
        # Called before each embedding batch (Components: wait while learners' answers are being
        # written, so an ingest or the background embedder never slows a chat's first token).
        self.yield_to: Callable[[], None] | None = None

    # --- embedder identity -------------------------------------------------------
    def check_embedder(self, *, for_write: bool = False) -> None:
        stored = self.manifest.get_meta("embedder")
        if stored and stored != self.embedder.model_id:
            raise EmbedderMismatch(
                f"the index at {self.dir} was built with embedder {stored!r} but {self.embedder.model_id!r} is "
                f"configured: re-index with `studybot ingest --rebuild` (or set STUDYBOT_EMBEDDER back)"
            )
        self.vectors.check()
        if for_write and not stored:
            from bot.core.text import TOKENIZER_VERSION

            self.manifest.record_embedder(self.embedder.model_id, TOKENIZER_VERSION)

    def wipe(self) -> None:
        """Start over: drop vectors and the manifest's contents (used by --rebuild)."""
        with self._embed_lock:  # not under a background embedder's feet
            self.vectors.drop()
            self.manifest.clear()
        self._bm25 = None
        self.dense.invalidate()
        (self.dir / "bm25.npz").unlink(missing_ok=True)

    # --- lexical -----------------------------------------------------------------
    def bm25(self) -> BM25:
        gen = self.manifest.generation()
        bm = self._bm25
        if bm is not None and bm.generation == gen:
            return bm
        with self._bm25_lock:
            if self._bm25 is not None and self._bm25.generation == gen:
                return self._bm25
            bm = BM25.load(self.dir)  # another process (a CLI ingest) may have committed it already
            if bm is None or bm.generation != gen or self._tokens_stale():
                if bm is not None and (self._bm25 is None or bm.generation > self._bm25.generation):
                    self._bm25 = bm  # the freshest base for the update
                bm = self.rebuild_bm25()
            self._bm25 = bm
            return bm

    def rebuild_bm25(self, full: bool = False) -> BM25:
        """BM25 for the manifest as it is now, updated from the last one when there is one."""
        with self._bm25_lock:
            return self._rebuild_bm25(full)

    def _rebuild_bm25(self, full: bool) -> BM25:
        if self._tokens_stale():
            self._retokenize()
            full = True
        prev = None if full else (self._bm25 or BM25.load(self.dir))
        with self.manifest.snapshot():  # generation, ids and tokens from one committed state
            gen = self.manifest.generation()
            if prev is not None and prev.tf is not None:
                bm = prev.updated(self.manifest.chunk_id_list(), self.manifest.chunk_tokens, gen)
            else:
                ids, toks = self.manifest.all_chunk_tokens()
                bm = BM25().build(ids, toks, generation=gen)
        bm.save(self.dir)
        self._bm25 = bm
        return bm

    def commit_bm25(self) -> BM25:
        """Bring BM25 up to the manifest (what a writer calls): nothing to do when nothing changed."""
        bm = self._bm25 or BM25.load(self.dir)
        if bm is not None and bm.generation == self.manifest.generation() and not self._tokens_stale():
            self._bm25 = bm
            return bm
        return self.rebuild_bm25()

    def _tokens_stale(self) -> bool:
        from bot.core.text import TOKENIZER_VERSION

        return self.manifest.get_meta("tokenizer") != TOKENIZER_VERSION and self.manifest.stats()["chunks"] > 0

    def _retokenize(self) -> None:
        """An index built by an older tokenizer gets its BM25 tokens recomputed (no re-embedding)."""
        from bot.core.text import TOKENIZER_VERSION, tokenize

        self.manifest.retokenize(lambda chunk: tokenize(index_text(chunk)), TOKENIZER_VERSION)

    # --- dense -------------------------------------------------------------------
    def dense_search(self, vector, n: int, among: set[str] | frozenset[str] | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine) best first: exact up to ``exact_dense_limit`` vectors, Chroma's graph past it.
        ``among``: only these passages (past the limit: those among a deeper graph search)."""
        got = self.dense.query(vector, n, among)
        if got is None:
            got = (self.vectors.query(vector, n) if among is None else
                   [(c, s) for c, s in self.vectors.query(vector, n * SCOPED_GRAPH_DEPTH) if c in among][:n])
        a, b = self.cosine_map
        return got if (a, b) == (0.0, 1.0) else [(c, a + b * s) for c, s in got]

    def cosines(self, ids: list[str], qvecs: list) -> dict[str, float]:
        """Exact best cosine (on ``dense_search``'s scale) of each passage to any of the query vectors: one
        found by BM25 alone has no dense rank to read it from. Passages without a vector yet are left out."""
        if not qvecs:
            return {}
        got = self.stored_vectors(ids)
        if not got:
            return {}
        ids = list(got)
        a, b = self.cosine_map
        m = np.stack([got[i] for i in ids]) @ np.stack(qvecs).T
        return dict(zip(ids, (a + b * m.max(axis=1)).tolist()))

    @property
    def cosine_map(self) -> tuple[float, float]:
        """(offset, scale) putting this embedder's cosines on the scale the thresholds were calibrated on
        (multilingual-e5-small's): see ``EmbeddingGemma.cosine_map``."""
        return getattr(self.embedder, "cosine_map", (0.0, 1.0))

    def stored_vectors(self, ids: list[str]) -> dict:
        got = self.dense.vectors(ids)
        return self.vectors.vectors(ids) if got is None else got

    def embed_pending(
        self, progress: Progress | None = None, batch: int = 16, stop: threading.Event | None = None, window: int = 512
    ) -> int:
        """Embed every chunk not yet in Chroma, shortest first so similar lengths share a batch.

        Safe to run in several threads at once (the ingest and the background embedder): each batch
        re-checks under a lock which of its chunks still need a vector, so none is embedded twice.
        """
        total = self.manifest.count_unembedded()
        done = 0
        if progress:
            progress("embedding", 0, total)
        while not (stop is not None and stop.is_set()):
            chunks = self.manifest.unembedded(limit=window)
            if not chunks:
                break
            before = done
            for i in range(0, len(chunks), batch):
                if stop is not None and stop.is_set():
                    break
                if self.yield_to is not None:
                    self.yield_to()
                done += self._embed_batch(chunks[i : i + batch])
                if progress:
                    progress("embedding", min(done, total), total)
            if done == before and len(chunks) < window:
                break  # another embedder took them all
        return done

    def _embed_batch(self, chunks: list[Chunk]) -> int:
        with self._embed_lock:
            todo = self.manifest.unembedded_among([c.id for c in chunks])
            part = [c for c in chunks if c.id in todo]
            if not part:
                return 0
            vecs = self.embedder.embed_passages([index_text(c) for c in part])
            ids = [c.id for c in part]
            # Chroma first, then the flag: a crash in between only means re-embedding (upsert is idempotent).
            self.vectors.upsert(ids, vecs, [""] * len(ids))
            self.manifest.mark_embedded(ids)
            # A chunk deleted by a re-index while it was being embedded must not leave its vector behind.
            gone = sorted(set(ids) - self.manifest.existing(ids))
            if gone:
                self.vectors.delete(gone)
        return len(part)

    def reconcile(self, full: bool = False) -> dict:
        """Make Chroma hold exactly the manifest's embedded chunks (repairs any crash window).

        Every write path adds to Chroma before setting a chunk's flag and drops the flag only with
        the chunk, so after a crash Chroma can only hold *more* than the flags say: equal counts mean
        nothing to repair, and the full id comparison (slow on a big library) is skipped.
        """
        with self._embed_lock:
            if not full and self.vectors.count() == self.manifest.stats()["embedded"]:
                return {"orphans_removed": 0, "to_reembed": 0}
            want = self.manifest.chunk_ids()
            have = self.vectors.ids()
            orphans = sorted(have - want)
            if orphans:
                self.vectors.delete(orphans)
            embedded = self.manifest.embedded_ids()
            missing = sorted(embedded - have)
            if missing:
                self.manifest.mark_embedded(missing, 0)
            return {"orphans_removed": len(orphans), "to_reembed": len(missing)}

    def status(self) -> dict:
        s = self.manifest.stats()
        s["embedder"] = self.embedder.model_id
        s["vectors_ready"] = round(s["embedded"] / s["chunks"], 3) if s["chunks"] else 1.0
        s["generation"] = self.manifest.generation()
        s["checked_at"] = time.time()
        return s


def index_key(settings: Settings) -> tuple:
    """What makes two settings' indexes the same: a process opens one Index per key."""
    return (str(Path(settings.index_dir).resolve()), settings.embedder, settings.collection, settings.chroma_url)
