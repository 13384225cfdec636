"""Exact dense search: a brute-force dot product over an in-memory copy of the index's vectors.

Chroma's HNSW graph is approximate, and e5's cosines crowd into a narrow band, where graph search
both misses true neighbours and misses different ones from process to process: even at ef_search
100 some dev questions lost one of their true top-40 (a different set each run), so identical eval
runs scored differently. At a library's size
the exact product is cheap (~5 ms for 50k x 384 floats), so dense search is exact and repeatable
up to ``limit`` vectors; past it, Chroma's graph is used.

The copy follows the manifest: a chunk is marked embedded only after Chroma holds its vector
(bot/index/store.py), and chunk ids hash the chunk's text, so an id's vector never changes. When the
manifest's generation or embedded count moves, only the difference is fetched from Chroma.
"""
from __future__ import annotations

import threading

import numpy as np

from bot.index.lexical import IdMask
from bot.index.manifest import Manifest
from bot.index.vectors import VectorStore


class ExactDense:
    def __init__(self, vectors: VectorStore, manifest: Manifest, limit: int) -> None:
        self.store = vectors
        self.manifest = manifest
        self.limit = limit
        self._lock = threading.Lock()
        self._mask = IdMask()
        self._key: tuple | None = None
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._clear()

    def invalidate(self) -> None:
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        self._key, self._ids, self._pos = None, [], {}
        self._m = np.zeros((0, 0), dtype=np.float32)

    def _refresh(self) -> bool:
        """Bring the copy up to date; False when the index is too large to hold (use the graph)."""
        key = (self.manifest.generation(), self.manifest.count_embedded(), self.store.embedder_id)
        if key == self._key:
            return True
        if key[1] > self.limit:
            self._clear()
            return False
        want = self.manifest.embedded_ids()
        # While the background embedder works, every batch moves the key: keep the rows we hold by
        # a mask and fetch only the new ids, rather than rebuilding the copy row by row.
        keep = np.fromiter((i in want for i in self._ids), dtype=bool, count=len(self._ids))
        ids = [i for i, k in zip(self._ids, keep) if k]
        new = sorted(want.difference(ids))
        got = self.store.vectors_batched(new)
        added = [i for i in new if i in got]
        parts = [self._m[keep]] if ids else []
        if added:
            parts.append(np.stack([got[i] for i in added]).astype(np.float32, copy=False))
        self._m = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
        ids += added
        self._ids, self._pos = ids, {i: n for n, i in enumerate(ids)}
        # Vectors the manifest promised but Chroma did not return are asked for again next time.
        self._key = key if len(ids) == len(want) else None
        return True

    def query(self, vector: np.ndarray, n: int, among: set[str] | frozenset[str] | None = None) -> list[tuple[str, float]] | None:
        """(chunk id, cosine) best first, ties by id (only ids in ``among``, when given); None when the
        index is past ``limit``."""
        with self._lock:
            if not self._refresh():
                return None
            if not self._ids or n <= 0:
                return []
            sims = self._m @ np.asarray(vector, dtype=np.float32)
            if among is not None:
                keep = self._mask(self._ids, among)
                n = min(n, int(keep.sum()))
                if n <= 0:
                    return []
                sims = np.where(keep, sims, -np.inf)
            n = min(n, len(self._ids))
            top = np.argpartition(-sims, n - 1)[:n] if n < len(self._ids) else np.arange(len(self._ids))
            order = sorted(top.tolist(), key=lambda j: (-float(sims[j]), self._ids[j]))
            return [(self._ids[j], float(sims[j])) for j in order]

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray] | None:
        """Stored vectors of ``ids`` from the copy; None when the index is past ``limit``."""
        with self._lock:
            if not self._refresh():
                return None
            return {i: self._m[self._pos[i]] for i in ids if i in self._pos}
