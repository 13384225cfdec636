"""Searchable at once, semantic soon after: BM25 right after parsing, vectors filled in by a background thread."""
from __future__ import annotations

import threading
import time

from conftest import make_settings

from bot.components import Components
from bot.retrieval.retriever import FusionConfig
from bot.service import StudyBot
from ingest.pipeline import ingest


def _wait(pred, timeout: float = 60) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_new_source_is_keyword_searchable_before_any_vector(library, tmp_path):
    settings = make_settings(library, tmp_path / "idx", embedder="fake")
    c = Components(settings)
    rep = ingest(None, settings, embed=False, index=c.index())
    idx = c.index()
    assert rep.chunks_embedded == 0 and idx.status()["vectors_ready"] == 0.0
    hits = StudyBot(settings, components=c).search("杠铃阅读法", k=3)  # hybrid: BM25 answers alone
    assert hits and "杠铃阅读法" in hits[0].chunk.text + (hits[0].chunk.section or "")
    assert all(h.dense is None for h in hits)


def test_partial_vectors_are_used_and_reported(library, tmp_path):
    settings = make_settings(library, tmp_path / "idx", embedder="fake")
    c = Components(settings)
    idx = c.index()
    ingest(None, settings, embed=False, index=idx)
    stop = threading.Event()
    done = idx.embed_pending(batch=8, progress=lambda stage, d, t: d >= 8 and stop.set(), stop=stop)
    st = idx.status()
    assert done == 8 and 0 < st["vectors_ready"] < 1 and st["embedded"] == 8
    embedded = idx.manifest.embedded_ids()
    dense = StudyBot(settings, components=c, fusion=FusionConfig(mode="dense")).search("学习计划 阶段", k=5)
    assert dense and {h.chunk.id for h in dense} <= embedded  # only what has a vector
    assert StudyBot(settings, components=c).search("学习计划 阶段", k=5)  # hybrid fuses the partial dense list with BM25


def test_a_new_source_without_vectors_is_not_outranked_for_lack_of_one(library, tmp_path):
    settings = make_settings(library, tmp_path / "idx", embedder="fake")
    c = Components(settings)
    ingest(None, settings, index=c.index())
    (library / "new.md").write_text("# 新资料\n\n番茄工作法：每25分钟休息5分钟。\n", encoding="utf-8")
    ingest(None, settings, embed=False, index=c.index())
    idx = c.index()
    assert idx.manifest.count_unembedded() > 0
    hits = StudyBot(settings, components=c).search("番茄工作法", k=3)
    assert "番茄工作法" in hits[0].chunk.text and hits[0].dense is None


def test_background_embedder_fills_vectors_and_wakes_on_ingest(library, tmp_path):
    settings = make_settings(library, tmp_path / "idx", embedder="fake")
    c = Components(settings)
    idx = c.index()
    ingest(None, settings, embed=False, index=idx)
    worker = c.background_embedding(poll_s=3600)  # no polling: only work and wake-ups count
    try:
        assert c.background_embedding(idx) is worker  # one per index
        assert _wait(lambda: idx.status()["vectors_ready"] == 1.0), idx.status()
        assert idx.vectors.count() == idx.manifest.stats()["chunks"]
        # A new source: BM25 at once, and the ingest wakes the embedder for its vectors.
        (library / "new.md").write_text("# 新资料\n\n番茄工作法：每25分钟休息5分钟。\n", encoding="utf-8")
        rep = ingest(None, settings, embed=False, index=idx)  # the served index: its embedder wakes
        assert rep.indexed == 1
        # Lexically searchable at once. (Not through hybrid search here: the woken embedder races the
        # assertion, and the fake embedder's dense ranks are noise once the new vector lands.)
        top_id = idx.bm25().search("番茄工作法", 1)[0][0]
        assert "番茄工作法" in idx.manifest.load_chunks([top_id])[top_id].text
        assert _wait(lambda: idx.status()["vectors_ready"] == 1.0), idx.status()
        # The worker counts a batch after its flags are set: wait for the count, not just the flags.
        assert _wait(lambda: worker.embedded == idx.manifest.stats()["chunks"]), (worker.embedded, idx.status())
        assert worker.error is None
    finally:
        c.stop_background_embedding(timeout=30)
    assert not worker.thread.is_alive()


def test_ingest_and_background_embedder_never_embed_a_chunk_twice(library, tmp_path, monkeypatch):
    settings = make_settings(library, tmp_path / "idx", embedder="fake")
    c = Components(settings)
    idx = c.index()
    ingest(None, settings, embed=False, index=idx)
    seen: list[str] = []
    real = idx.vectors.upsert

    def counting(ids, vecs, docs):
        seen.extend(ids)
        time.sleep(0.01)  # widen the window in which the two could collide
        real(ids, vecs, docs)

    monkeypatch.setattr(idx.vectors, "upsert", counting)
    c.background_embedding(idx, poll_s=3600)
    try:
        idx.embed_pending(batch=4)
        assert _wait(lambda: idx.manifest.count_unembedded() == 0)
    finally:
        c.stop_background_embedding(idx, timeout=30)
    assert sorted(seen) == sorted(idx.manifest.chunk_ids())  # each exactly once
