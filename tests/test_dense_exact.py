"""Exact dense search over the in-memory copy: it must equal a brute force over Chroma's stored
vectors, follow progressive embedding and other writers, and hand over to Chroma past its limit."""
from __future__ import annotations

import numpy as np

from conftest import make_settings
from bot.index.store import Index
from ingest.pipeline import ingest


def _brute(index: Index, vector, n):
    ids = sorted(index.vectors.ids())
    got = index.vectors.vectors_batched(ids)
    sims = {i: float(got[i] @ vector) for i in ids}
    return sorted(sims, key=lambda i: (-sims[i], i))[:n]


def test_exact_search_follows_progressive_embedding_and_other_writers(library, tmp_path):
    settings = make_settings(library, tmp_path / "idx")
    ingest(None, settings, embed=False)
    index = Index(settings)
    first = index.manifest.unembedded(limit=24)
    index._embed_batch(first)
    q = index.embedder.embed_query_np("大模型学习路线的第二阶段学什么")
    hits = index.dense_search(q, 10)
    assert {c for c, _ in hits} <= {c.id for c in first}
    assert [c for c, _ in hits] == _brute(index, q, 10)

    index.embed_pending()
    assert len(index.dense_search(q, 10_000)) == index.manifest.count_embedded() > 24
    assert [c for c, _ in index.dense_search(q, 15)] == _brute(index, q, 15)
    own = index.manifest.embedded_ids().pop()
    vec = index.stored_vectors([own])[own]
    assert index.dense_search(vec, 1)[0][0] == own

    # Another process removes a source: the copy drops its chunks on the next search.
    removed = sorted((library / "seeds").iterdir())[0]
    doomed = {c.id for c in index.manifest.all_chunks() if c.path.endswith(removed.name)}
    assert doomed
    removed.unlink()
    ingest(None, settings)
    left = {c for c, _ in index.dense_search(q, 10_000)}
    assert left and not (left & doomed)
    assert [c for c, _ in index.dense_search(q, 15)] == _brute(index, q, 15)


def test_past_the_limit_chroma_answers_and_a_wipe_never_reuses_a_generation(library, tmp_path):
    settings = make_settings(library, tmp_path / "idx", exact_dense_limit=0)
    ingest(None, settings)
    index = Index(settings)
    q = index.embedder.embed_query_np("what is RAG")
    assert index.dense.query(q, 5) is None  # too many for the copy
    assert len(index.dense_search(q, 5)) == 5  # Chroma's graph instead
    assert np.isfinite([s for _, s in index.dense_search(q, 5)]).all()

    gen = index.manifest.generation()
    assert gen > 0
    index.wipe()
    assert index.manifest.generation() == gen + 1
    assert index.dense_search(q, 5) == []


def test_an_embedders_cosine_map_puts_every_cosine_on_one_scale(library, tmp_path):
    """EmbeddingGemma's cosines are mapped onto the scale the thresholds were calibrated on: the same
    order, and the same values from the ranked search, the exact re-check and Chroma's graph."""
    settings = make_settings(library, tmp_path / "idx")
    ingest(None, settings)
    index = Index(settings)
    q = index.embedder.embed_query_np("大模型学习路线的第二阶段学什么")
    raw = index.dense_search(q, 8)
    index.embedder.cosine_map = (0.5, 0.25)
    mapped = index.dense_search(q, 8)
    assert [c for c, _ in mapped] == [c for c, _ in raw]
    assert all(abs(m - (0.5 + 0.25 * r)) < 1e-6 for (_, r), (_, m) in zip(raw, mapped))
    exact = index.cosines([c for c, _ in raw], [q])
    assert all(abs(exact[c] - m) < 1e-5 for c, m in mapped)
    graph = Index(make_settings(library, tmp_path / "idx", exact_dense_limit=0), embedder=index.embedder)
    assert all(abs(g - m) < 1e-4 for (_, g), (_, m) in zip(graph.dense_search(q, 3), mapped[:3]))
