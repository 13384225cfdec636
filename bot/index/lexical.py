"""BM25 over jieba tokens, persisted beside the vector index.

The index is derived data: it follows the manifest's stored tokens whenever the manifest's
generation moved on (only chunks added since are counted again), and is written atomically so a
crash never leaves half a file.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import sparse

from bot.core.text import query_weight, tokenize


class IdMask:
    """Which rows of an id list are in a set of passages (a named source's), kept for the last set
    asked: the retriever hands the same set object to every phrasing and to repeated questions about
    that source, and checking tens of thousands of ids against it is most of a scoped search's cost."""

    def __init__(self) -> None:
        self._last: tuple | None = None  # (among, ids, mask)

    def __call__(self, ids: list[str], among: set[str] | frozenset[str]) -> np.ndarray:
        last = self._last
        if last is not None and last[0] is among and last[1] is ids:
            return last[2]
        mask = np.fromiter((i in among for i in ids), bool, len(ids))
        self._last = (among, ids, mask)
        return mask


class BM25:
    FORMAT = 2  # files store raw term counts, so an update re-tokenises only the chunks that are new

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.ids: list[str] = []
        self.vocab: dict[str, int] = {}
        self.tf: sparse.csr_matrix | None = None  # docs x terms, raw counts
        self.matrix: sparse.csc_matrix | None = None  # docs x terms, BM25 term weights
        self.idf: np.ndarray | None = None
        self.generation = -1
        self._mask = IdMask()

    def build(self, ids: list[str], token_lists: list[list[str]], generation: int = 0) -> "BM25":
        self.ids = list(ids)
        self.vocab = {}
        self.generation = generation
        self.tf = self._counts(token_lists)
        self._weigh()
        return self

    def updated(self, ids_now: list[str], tokens_of: Callable[[list[str]], list[list[str]]], generation: int) -> "BM25":
        """A new BM25 over ``ids_now`` that reuses this one's rows: chunk ids are content hashes, so a
        known id has known tokens and only new chunks are fetched (``tokens_of``) and counted."""
        now = set(ids_now)
        known = set(self.ids)
        keep = [r for r, i in enumerate(self.ids) if i in now]
        added = [i for i in ids_now if i not in known]
        new = BM25(self.k1, self.b)
        new.vocab = dict(self.vocab)
        new.generation = generation
        add = new._counts(tokens_of(added))
        old = self.tf[keep] if self.tf is not None else sparse.csr_matrix((0, 0), dtype=np.float32)
        old = sparse.csr_matrix((old.data, old.indices, old.indptr), shape=(old.shape[0], len(new.vocab)))
        new.tf = sparse.vstack([old, add], format="csr")
        new.ids = [self.ids[r] for r in keep] + added
        new._weigh()
        return new

    def _counts(self, token_lists: list[list[str]]) -> sparse.csr_matrix:
        """Term counts of new rows, growing the vocabulary as needed."""
        vocab = self.vocab
        rows, cols, vals = [], [], []
        for r, toks in enumerate(token_lists):
            counts: dict[int, int] = {}
            for t in toks:
                j = vocab.setdefault(t, len(vocab))
                counts[j] = counts.get(j, 0) + 1
            rows.extend([r] * len(counts))
            cols.extend(counts)
            vals.extend(counts.values())
        return sparse.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(token_lists), len(vocab)))

    def _weigh(self) -> None:
        tf = self.tf
        n_docs = max(1, tf.shape[0])
        lengths = np.asarray(tf.sum(axis=1), dtype=np.float32).ravel()
        df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float32)
        self.idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg = float(lengths.mean()) if tf.shape[0] else 1.0
        norm = self.k1 * (1 - self.b + self.b * lengths / max(avg, 1e-6))
        coo = tf.tocoo()
        w = coo.data * (self.k1 + 1) / (coo.data + norm[coo.row])
        self.matrix = sparse.csc_matrix((w.astype(np.float32), (coo.row, coo.col)), shape=tf.shape)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        if self.matrix is None or not self.ids:
            return np.zeros(0, dtype=np.float32)
        out = np.zeros(len(self.ids), dtype=np.float32)
        seen = set()
        for t in query_tokens:
            j = self.vocab.get(t)
            if j is None or j in seen:
                continue
            seen.add(j)
            col = self.matrix.getcol(j)
            out[col.indices] += col.data * self.idf[j] * query_weight(t)
        return out

    def idf_of(self, token: str) -> float:
        """IDF of a token; one the library never uses weighs like the rarest."""
        j = self.vocab.get(token)
        if j is not None and self.idf is not None:
            return float(self.idf[j])
        return self.rarest

    @property
    def rarest(self) -> float:
        """The IDF of a token no passage holds: the top of this library's scale."""
        return float(np.log(1.0 + (len(self.ids) + 0.5) / 0.5))

    def search(self, query: str, n: int, among: set[str] | frozenset[str] | None = None) -> list[tuple[str, float]]:
        """The ``n`` best passages for ``query`` (only those in ``among``, when given)."""
        s = self.scores(tokenize(query))
        if s.size == 0:
            return []
        if among is not None:
            s = np.where(self._mask(self.ids, among), s, 0.0)
        n = min(n, int((s > 0).sum()))
        if n <= 0:
            return []
        top = np.argpartition(-s, n - 1)[:n]
        top = top[np.argsort(-s[top])]
        return [(self.ids[i], float(s[i])) for i in top]

    # --- persistence -----------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".npz.tmp")
        os.close(fd)
        try:
            m = self.tf if self.tf is not None else sparse.csr_matrix((0, 0), dtype=np.float32)
            with open(tmp, "wb") as f:
                np.savez(
                    f, data=m.data, indices=m.indices, indptr=m.indptr, shape=np.asarray(m.shape),
                    header=np.frombuffer(
                        json.dumps({"format": self.FORMAT, "ids": self.ids, "vocab": self.vocab,
                                    "generation": self.generation, "k1": self.k1, "b": self.b}).encode(), dtype=np.uint8),
                )
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, directory / "bm25.npz")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, directory: Path) -> "BM25 | None":
        p = directory / "bm25.npz"
        if not p.exists():
            return None
        try:
            z = np.load(p)
            header = json.loads(bytes(z["header"]).decode())
            if header.get("format") != cls.FORMAT:
                return None  # an older layout: rebuilt from the manifest
            self = cls(header["k1"], header["b"])
            self.ids, self.vocab, self.generation = header["ids"], header["vocab"], header["generation"]
            shape = tuple(int(x) for x in z["shape"])
            self.tf = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=shape)
            self._weigh()
            return self
        except Exception:  # noqa: BLE001 - a damaged derived file is simply rebuilt
            return None
