"""SIGKILL an ingest at several moments (parsing, embedding, between batches): the next ingest must
converge to exactly what a clean run builds, and a reader must keep searching the last good state.

The ingest runs as `python -m ui.cli ingest` in a subprocess with the real embedder and real
Chroma; the final state is read back by a fresh process, as a restarted app would see it.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent

TOPICS = [
    ("注意力机制", "Transformer 的注意力机制让每个词元都能关注其他词元，这是大语言模型的核心。"),
    ("提示工程", "提示工程研究如何写清楚任务说明，少样本示例能显著提高回答质量。"),
    ("retrieval", "Retrieval augmented generation looks passages up in a library before the model answers."),
    ("微调", "LoRA 微调只训练低秩矩阵，因此一张消费级显卡就能微调 7B 模型。"),
    ("evaluation", "Evaluation sets measure recall at k and mean reciprocal rank for every retriever change."),
    ("学习计划", "学习计划分三个阶段：先掌握工具，再做项目，最后研究论文与前沿方向。"),
]


def _library(base: Path) -> Path:
    lib = base / "library"
    for i, (topic, sentence) in enumerate(TOPICS):
        body = "\n\n".join(f"## {topic} {j + 1}\n\n{sentence * 3} 第{j + 1}节补充说明：{sentence[: 20 + 7 * j]}" for j in range(7))
        (lib / f"notes{i}").mkdir(parents=True, exist_ok=True)
        (lib / f"notes{i}" / f"{i:02d}_{topic}.md").write_text(f"# {topic}\n\n{body}\n", encoding="utf-8")
    return lib


def _env(lib: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    env.update(STUDYBOT_LIBRARY_DIR=str(lib), STUDYBOT_PROGRESS="1", STUDYBOT_LLM="fake", PYTHONPATH=str(ROOT))
    return env


class Ingest:
    """`studybot ingest` in a subprocess, with its progress bar parsed as it arrives."""

    def __init__(self, lib: Path, index_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "ingest", "--json", "--index-dir", str(index_dir)],
            cwd=ROOT, env=_env(lib), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.started = time.monotonic()
        self.stage: tuple[str, int, int] | None = None
        self.err = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := self.proc.stderr.read1(4096):
            self.err += chunk
            found = re.findall(rb"(parsing|embedding)\s+\[[#.]*\] (\d+)/(\d+)", self.err[-400:])
            if found:
                s, d, t = found[-1]
                self.stage = (s.decode(), int(d), int(t))

    def kill_when(self, cond, timeout: float = 120) -> str:
        """SIGKILL as soon as ``cond(stage, elapsed)`` holds; returns what happened."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return "finished before the kill"
            if cond(self.stage, time.monotonic() - self.started):
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait(10)
                return f"killed at {self.stage} after {time.monotonic() - self.started:.2f}s"
            time.sleep(0.01)
        self.proc.kill()
        raise AssertionError("ingest never reached the kill point")

    def finish(self, timeout: float = 240) -> dict:
        out, _ = self.proc.communicate(timeout=timeout)
        self._reader.join(5)
        assert self.proc.returncode == 0, self.err.decode(errors="replace")[-2000:]
        return json.loads(out)


SNAPSHOT = r"""
import json, sys
from collections import Counter
from pathlib import Path
from bot.core.settings import Settings
from bot.index.lexical import BM25
from bot.index.store import Index
idx = Index(Settings(index_dir=sys.argv[1], library_dir=sys.argv[2]))
col = idx.vectors._collection(create=False)
chroma = [] if col is None else col.get(include=[])["ids"]
bm = BM25.load(idx.dir)
print(json.dumps({
    "manifest": sorted(idx.manifest.chunk_ids()),
    "unembedded": idx.manifest.count_unembedded(),
    "chroma": sorted(chroma), "chroma_count": idx.vectors.count(),
    "bm25": bm.ids if bm else None, "bm25_generation": bm.generation if bm else None,
    "generation": idx.manifest.generation(),
    "files": {path: r["status"] for path, r in idx.manifest.all_files().items()},
    "docs": idx.manifest.stats()["docs"],
}))
"""


def _snapshot(index_dir: Path, lib: Path) -> dict:
    """The index as a freshly started process sees it."""
    out = subprocess.run([sys.executable, "-c", SNAPSHOT, str(index_dir), str(lib)], cwd=ROOT, env=_env(lib),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def _bot(settings):
    """A reader in this process, built once like the served app's: one open index for the whole test."""
    from bot.service import StudyBot

    return StudyBot(settings)


def _search_ok(bot, query: str = "注意力机制") -> list[str]:
    """The reader must answer from committed state."""
    manifest = bot.index.manifest
    gen = manifest.generation()
    hits = bot.search(query, k=3)
    known = manifest.existing([h.chunk.id for h in hits]) if hits else set()
    # Never a passage the manifest does not hold — unless a writer committed a newer version between
    # the search and this check (the reader answered from the state before it, which is the point).
    if manifest.generation() == gen:
        assert {h.chunk.id for h in hits} == known
    assert all(h.chunk.text and h.chunk.path for h in hits)
    return [h.chunk.id for h in hits]


@pytest.mark.timeout(600)
def test_sigkill_at_any_moment_converges_to_a_clean_index(tmp_path):
    from ingest.pipeline import ingest

    lib = _library(tmp_path)
    idx_dir = tmp_path / "index"
    settings = make_settings(lib, idx_dir)
    reader = _bot(settings)

    embedding = lambda st, t: st is not None and st[0] == "embedding"  # noqa: E731
    kill_points = [  # (name, when, then read the index from here for a moment before the kill)
        ("while parsing", lambda st, t: st is not None and st[0] == "parsing" and st[1] >= 2, False),
        ("as embedding starts", embedding, False),
        ("mid-batch, while a reader searches", embedding, True),
        ("after the first batch", lambda st, t: embedding(st, t) and st[1] >= 16, False),
        ("by the clock, 1.5 s in", lambda st, t: t > 1.5, False),
        ("by the clock, 4 s in", lambda st, t: t > 4.0, False),
    ]
    log = []
    for name, cond, read_meanwhile in kill_points:
        run = Ingest(lib, idx_dir)

        def when(st, t, cond=cond, read=read_meanwhile):
            if not cond(st, t):
                return False
            if read:  # the reader runs in this process while the writer embeds in its own
                _search_ok(reader)
            return True

        log.append(f"{name}: {run.kill_when(when)}")
        # After a kill, the last committed state still answers.
        _search_ok(reader)
        if name == "after the first batch":
            # An edit between crashes: the file's old chunks (maybe embedded by now) must leave Chroma too.
            m = reader.index.manifest
            f = Path(next(iter(m.load_chunks(sorted(m.embedded_ids())[:1]).values())).path)
            f.write_text(f.read_text(encoding="utf-8") + "\n\n## 修订\n\n间隔重复：第1天、第3天、第7天复习。\n",
                         encoding="utf-8")
    final = Ingest(lib, idx_dir).finish()
    assert not final["failed"], final
    snap = _snapshot(idx_dir, lib)

    # What a clean, uninterrupted run builds (embedding is irrelevant to the ids: skip it here).
    clean = ingest(None, make_settings(lib, tmp_path / "clean"), embed=False)
    assert clean.indexed == len(TOPICS) and not clean.failed
    clean_snap = _snapshot(tmp_path / "clean", lib)
    assert clean_snap["unembedded"] == len(clean_snap["manifest"]) > 20
    ids = clean_snap["manifest"]
    assert snap["manifest"] == ids, log
    assert snap["chroma"] == ids and snap["chroma_count"] == len(ids), log  # no orphans, no duplicates
    assert snap["bm25"] is not None and sorted(snap["bm25"]) == ids and len(set(snap["bm25"])) == len(snap["bm25"])
    assert snap["bm25_generation"] == snap["generation"]
    assert snap["unembedded"] == 0
    assert snap["docs"] == clean_snap["docs"]
    assert set(snap["files"]) == set(clean_snap["files"]) and set(snap["files"].values()) == {"ok"}
    # And the reader sees the final state (new process state picked up through the manifest).
    assert _search_ok(reader)
    print("\n".join(log))


@pytest.mark.timeout(300)
def test_reader_keeps_the_last_good_state_while_an_ingest_runs(tmp_path):
    """A file being re-indexed stays findable until its replacement is committed, never half of each."""
    from ingest.pipeline import ingest

    lib = _library(tmp_path)
    settings = make_settings(lib, tmp_path / "index", embedder="fake")
    ingest(None, settings)
    reader = _bot(settings)
    before = _search_ok(reader, "LoRA 微调")
    assert before
    # Rewrite every file, then search continuously while a CLI ingest (another process) replaces them.
    for f in sorted(lib.rglob("*.md")):
        f.write_text(f.read_text(encoding="utf-8") + "\n\n## 附录\n\n新增的复习要点：间隔重复。\n", encoding="utf-8")
    env = _env(lib) | {"STUDYBOT_EMBEDDER": "fake"}
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "ingest", "--json", "--index-dir", str(settings.index_dir)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    searches = 0
    while proc.poll() is None:
        assert _search_ok(reader, "LoRA 微调"), "the library went dark during a re-index"
        searches += 1
        time.sleep(0.05)
    assert proc.returncode == 0, proc.stderr.read().decode()[-2000:]
    assert searches >= 1
    hits = _search_ok(reader, "间隔重复")
    assert hits


def test_the_crash_windows_are_repaired_by_the_next_ingest(tmp_path):
    """The states a kill can leave, made on purpose: the next run converges (deterministic twin of the test above)."""
    import numpy as np

    from bot.components import Components
    from ingest.pipeline import ingest

    lib = _library(tmp_path)
    settings = make_settings(lib, tmp_path / "index", embedder="fake")
    idx = Components(settings).index()
    ingest(None, settings, embed=False, index=idx)
    ids = sorted(idx.manifest.chunk_ids())
    dim = idx.embedder.dim
    # Killed between the Chroma write and the manifest flag: vectors exist, flags say "pending".
    idx.vectors.upsert(ids[:5], np.ones((5, dim), np.float32), [""] * 5)
    # Killed after a re-index dropped a chunk but before its vector was deleted: an orphan.
    idx.vectors.upsert(["orphan-from-an-old-version"], np.ones((1, dim), np.float32), [""])
    assert idx.status()["vectors_ready"] == 0.0

    rep = ingest(None, settings, index=idx)
    assert rep.indexed == 0 and not rep.failed
    assert idx.vectors.ids() == set(ids) and idx.vectors.count() == len(ids)
    assert idx.manifest.count_unembedded() == 0 and idx.status()["vectors_ready"] == 1.0


def test_a_search_that_an_ingest_commit_interrupts_is_run_again(tmp_path, monkeypatch):
    """Deterministic twin of the reader test: the commit lands between finding candidates and reading
    them, so the old passages are gone; the search runs again on the new state instead of coming back empty."""
    from bot.service import StudyBot
    from ingest.pipeline import ingest

    lib = _library(tmp_path)
    settings = make_settings(lib, tmp_path / "index", embedder="fake")
    ingest(None, settings)
    bot = StudyBot(settings)
    manifest = bot.index.manifest
    real_load = manifest.load_chunks
    calls = []

    def load_after_a_commit(ids):
        calls.append(len(ids))
        if len(calls) == 1:  # the writer commits right now: generation moves, these ids are gone
            with manifest._tx() as conn:  # white-box: what any commit does to the generation
                manifest._bump_generation(conn)
            return {}
        return real_load(ids)

    monkeypatch.setattr(manifest, "load_chunks", load_after_a_commit)
    assert bot.search("LoRA 微调", k=3)
    assert len(calls) == 2
