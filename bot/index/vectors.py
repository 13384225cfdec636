"""Dense vectors in Chroma: embedded PersistentClient by default, HttpClient when a server URL is set.

We always hand Chroma our own vectors (``embedding_function=None``): its default embedding
function would try to download a model. The collection records the embedder's id, and a query
from a different embedder is refused instead of returning nonsense.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from bot.providers.embeddings import EmbedderMismatch

def _client(index_dir: Path, chroma_url: str | None):
    """A client per VectorStore (an Index holds one, and a process one Index per location:
    ``bot.components``). Chroma itself shares one embedded database per path within a process."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    cs = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if chroma_url:
        u = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        return chromadb.HttpClient(host=u.hostname or "127.0.0.1", port=u.port or 8000, ssl=u.scheme == "https",
                                   settings=cs)
    (index_dir / "chroma").mkdir(parents=True, exist_ok=True)
    # Resolved: Chroma keys its shared database by this string, and one directory must be one database.
    return chromadb.PersistentClient(path=str((index_dir / "chroma").resolve()), settings=cs)


class VectorStore:
    def __init__(self, index_dir: Path, collection: str, embedder_id: str, chroma_url: str | None = None) -> None:
        self.client = _client(index_dir, chroma_url)
        self.name = collection
        self.embedder_id = embedder_id
        self._col = None

    def _collection(self, create: bool):
        if self._col is None:
            if create:
                self._col = self.client.get_or_create_collection(
                    self.name, embedding_function=None, metadata={"hnsw:space": "cosine", "embedder": self.embedder_id}
                )
            else:
                try:
                    self._col = self.client.get_collection(self.name, embedding_function=None)
                except Exception:  # noqa: BLE001 - chroma raises different types for "missing" across versions
                    return None
            stored = (self._col.metadata or {}).get("embedder")
            if stored and stored != self.embedder_id:
                col, self._col = self._col, None
                raise EmbedderMismatch(
                    f"the index was built with embedder {stored!r} but {self.embedder_id!r} is configured: "
                    f"re-index with `studybot ingest --rebuild` (or set STUDYBOT_EMBEDDER back)"
                )
        return self._col

    def check(self) -> None:
        self._collection(create=False)

    def upsert(self, ids: list[str], vectors: np.ndarray, doc_hashes: list[str]) -> None:
        if ids:
            self._collection(create=True).upsert(
                ids=ids, embeddings=np.asarray(vectors, dtype=np.float32), metadatas=[{"doc": d} for d in doc_hashes]
            )

    def delete(self, ids: list[str]) -> None:
        col = self._collection(create=False)
        if col is not None:
            for i in range(0, len(ids), 1000):
                col.delete(ids=ids[i : i + 1000])

    def ids(self) -> set[str]:
        col = self._collection(create=False)
        if col is None:
            return set()
        out: set[str] = set()
        total = col.count()
        for off in range(0, total, 5000):
            out.update(col.get(include=[], limit=5000, offset=off)["ids"])
        return out

    def count(self) -> int:
        col = self._collection(create=False)
        return col.count() if col is not None else 0

    def query(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        """Return (chunk id, cosine similarity) best first."""
        col = self._collection(create=False)
        if col is None:
            return []
        total = col.count()
        if total == 0:
            return []
        r = col.query(query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=min(n, total), include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(r["ids"][0], r["distances"][0])]

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors of ``ids`` (those that have one), unit length as the embedder wrote them."""
        col = self._collection(create=False)
        if col is None or not ids:
            return {}
        try:
            r = col.get(ids=list(ids), include=["embeddings"])
        except Exception:  # noqa: BLE001 - a writer deleting these ids right now: callers fall back
            return {}
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(r["ids"], r["embeddings"])}

    def vectors_batched(self, ids: list[str], batch: int = 1000) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(ids), batch):
            out.update(self.vectors(ids[i : i + batch]))
        return out

    def drop(self) -> None:
        try:
            self.client.delete_collection(self.name)
        except Exception:  # noqa: BLE001 - nothing to drop
            pass
        self._col = None
