"""BM25 over jieba tokens, persisted beside the vector index.

The index is derived data: it is rebuilt from the manifest's stored tokens whenever the
manifest's generation moved on, and written atomically so a crash never leaves half a file.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
from scipy import sparse

from bot.text import tokenize


class BM25:
    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.ids: list[str] = []
        self.vocab: dict[str, int] = {}
        self.matrix: sparse.csc_matrix | None = None  # docs x terms, BM25 term weights
        self.idf: np.ndarray | None = None
        self.generation = -1

    def build(self, ids: list[str], token_lists: list[list[str]], generation: int = 0) -> "BM25":
        self.ids = list(ids)
        self.generation = generation
        vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        lengths = np.zeros(len(ids), dtype=np.float32)
        for r, toks in enumerate(token_lists):
            lengths[r] = len(toks)
            counts: dict[int, int] = {}
            for t in toks:
                j = vocab.setdefault(t, len(vocab))
                counts[j] = counts.get(j, 0) + 1
            for j, n in counts.items():
                rows.append(r)
                cols.append(j)
                vals.append(n)
        self.vocab = vocab
        n_docs = max(1, len(ids))
        tf = sparse.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(ids), len(vocab)))
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=len(vocab)).astype(np.float32)
        self.idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg = float(lengths.mean()) if len(ids) else 1.0
        norm = self.k1 * (1 - self.b + self.b * lengths / max(avg, 1e-6))
        tf = tf.tocoo()
        w = tf.data * (self.k1 + 1) / (tf.data + norm[tf.row])
        self.matrix = sparse.csc_matrix((w.astype(np.float32), (tf.row, tf.col)), shape=tf.shape)
        return self

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
            out[col.indices] += col.data * self.idf[j]
        return out

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        s = self.scores(tokenize(query))
        if s.size == 0:
            return []
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
            m = self.matrix if self.matrix is not None else sparse.csc_matrix((0, 0), dtype=np.float32)
            with open(tmp, "wb") as f:
                np.savez(
                    f, data=m.data, indices=m.indices, indptr=m.indptr, shape=np.asarray(m.shape),
                    idf=self.idf if self.idf is not None else np.zeros(0, np.float32),
                    header=np.frombuffer(
                        json.dumps({"ids": self.ids, "vocab": self.vocab, "generation": self.generation,
                                    "k1": self.k1, "b": self.b}).encode(), dtype=np.uint8),
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
            self = cls(header["k1"], header["b"])
            self.ids, self.vocab, self.generation = header["ids"], header["vocab"], header["generation"]
            shape = tuple(int(x) for x in z["shape"])
            self.matrix = sparse.csc_matrix((z["data"], z["indices"], z["indptr"]), shape=shape)
            self.idf = z["idf"]
            return self
        except Exception:  # noqa: BLE001 - a damaged derived file is simply rebuilt
            return None
