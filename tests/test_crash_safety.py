"""SIGKILL an ingest at several moments (parsing, embedding, between batches): the next ingest must
converge to exactly what a clean run builds, and a reader must keep searching the last good state.

The ingest runs as `studybot ingest` (ui.cli) in a subprocess with the real embedder and real
Chroma; every kill is proven to have landed mid-way (the exit status is -9, and the index shows the
work half done), and the state is read back by a fresh process, as a restarted app would see it.
"""
from __future__ import annotations

import inspect
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


# The child is `studybot ingest` (ui.cli.main with the same arguments) with one thing added: each progress
# call is also reported on stderr as a line the test can read ("@progress embedding 16 33"), and at the
# chosen point the child stops inside that call ("@paused") until the test kills it. A pause sits
# between two commits, so "killed after 2 of 6 files" is a fact and not a race against a fast parser.
CHILD = r"""
import sys, threading
import ui.cli as cli

stage_at, at = sys.argv[1], int(sys.argv[2])  # pause at the first call of that stage with at <= done < total

def progress_bar(bar=cli.progress_bar):
    shown = bar()
    def report(stage, done, total):
        if shown:
            shown(stage, done, total)
        sys.stderr.write(f"\n@progress {stage} {done} {total}\n")
        sys.stderr.flush()
        if stage == stage_at and at <= done < total:
            sys.stderr.write("@paused\n")
            sys.stderr.flush()
            threading.Event().wait()  # until SIGKILL
    return report

cli.progress_bar = progress_bar
sys.exit(cli.main(sys.argv[3:]))
"""


class Ingest:
    """`studybot ingest` in a subprocess (see CHILD), with its progress reports read as they arrive."""

    def __init__(self, lib: Path, index_dir: Path, pause: tuple[str, int] | None = None) -> None:
        stage, at = pause or ("-", 0)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, stage, str(at), "ingest", "--json", "--index-dir", str(index_dir)],
            cwd=ROOT, env=_env(lib), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.stage: tuple[str, int, int] | None = None
        self.paused = threading.Event()
        self.err = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in iter(self.proc.stderr.readline, b""):
            self.err += line
            if m := re.search(rb"^@progress (\w+) (\d+) (\d+)$", line.strip()):
                self.stage = (m.group(1).decode(), int(m.group(2)), int(m.group(3)))
            elif line.strip() == b"@paused":
                self.paused.set()

    def wait_for(self, cond, what: str, timeout: float = 180) -> None:
        """Poll until ``cond()`` holds; fail if the ingest ends first (a kill then would prove nothing)."""
        end = time.monotonic() + timeout
        while not cond():
            if self.proc.poll() is not None:
                raise AssertionError(f"the ingest ended (exit {self.proc.returncode}) before {what}:\n"
                                     + self.err.decode(errors="replace")[-2000:])
            if time.monotonic() > end:
                self.proc.kill()
                raise AssertionError(f"the ingest never reached {what} in {timeout:.0f} s")
            time.sleep(0.01)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._reader.join(5)
        # -9: the kill ended it. 0 would mean it had already finished: then nothing was interrupted.
        assert self.proc.returncode == -signal.SIGKILL, (self.proc.returncode, self.err.decode(errors="replace")[-2000:])

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
by_file = {}
for c in sorted(idx.manifest.all_chunks(), key=lambda c: c.id):
    by_file.setdefault(c.path, []).append(c.id)
files = idx.manifest.all_files()
print(json.dumps({
    "manifest": sorted(idx.manifest.chunk_ids()),
    "unembedded": idx.manifest.count_unembedded(),
    "chroma": sorted(chroma), "chroma_count": idx.vectors.count(),
    "bm25": bm.ids if bm else None, "bm25_generation": bm.generation if bm else None,
    "generation": idx.manifest.generation(),
    "files": {path: r["status"] for path, r in files.items()},
    "file_hashes": {path: r["file_hash"] for path, r in files.items()},
    "embedded": sorted(idx.manifest.embedded_ids()),
    "chunks_by_file": by_file,
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


def _search_ok(reader, query: str = "注意力机制") -> list[str]:
    """A reader in this process (like the served app): it must answer from committed state."""
    manifest = reader.index.manifest
    gen = manifest.generation()
    hits = reader.search(query, k=3)
    known = manifest.existing([h.chunk.id for h in hits]) if hits else set()
    # Never a passage the manifest does not hold — unless a writer committed a newer version between
    # the search and this check (the reader answered from the state before it, which is the point).
    if manifest.generation() == gen:
        assert {h.chunk.id for h in hits} == known
    assert all(h.chunk.text and h.chunk.path for h in hits)
    return [h.chunk.id for h in hits]


def _clean(lib: Path, index_dir: Path) -> dict:
    """What an uninterrupted run builds from the library as it is now (no vectors: they do not change ids)."""
    from ingest.pipeline import ingest

    rep = ingest(None, make_settings(lib, index_dir), embed=False)
    assert rep.indexed == len(TOPICS) and not rep.failed
    return _snapshot(index_dir, lib)


def _after_kill(run: Ingest, reader, lib: Path, clean: dict, log: list[str], name: str) -> dict:
    """Kill the paused or running ingest, then check what it left: a consistent index that still answers."""
    run.kill()
    snap = _snapshot(Path(reader.settings.index_dir), lib)
    log.append(f"{name}: killed at {run.stage}; {len(snap['files'])} files, {len(snap['manifest'])} chunks, "
               f"{len(snap['embedded'])} embedded")
    # Only whole files: each one in the manifest has exactly the chunks a clean run cuts from it.
    assert set(snap["files"].values()) <= {"ok"}, snap["files"]
    assert set(snap["chunks_by_file"]) == set(snap["files"]) and snap["docs"] == len(snap["files"])
    for path, chunks in snap["chunks_by_file"].items():
        if snap["file_hashes"][path] == clean["file_hashes"][path]:
            assert chunks == clean["chunks_by_file"][path], (name, path)
    # A vector is stored before its chunk is flagged (and dropped only with the chunk): every flag has a vector.
    assert set(snap["embedded"]) <= set(snap["chroma"]), log
    assert snap["unembedded"] == len(snap["manifest"]) - len(snap["embedded"])
    # The last committed state still answers.
    _search_ok(reader)
    return snap


@pytest.mark.timeout(900)
def test_sigkill_at_any_moment_converges_to_a_clean_index(tmp_path):
    """Six kills, each proven to land mid-way (exit -9, and the index shows the work half done), then a
    clean run: it must converge to exactly what an uninterrupted ingest builds."""
    from bot.core.hashing import file_sha256
    from bot.index.store import Index

    lib = _library(tmp_path)
    idx_dir = tmp_path / "index"
    settings = make_settings(lib, idx_dir)
    clean = _clean(lib, tmp_path / "clean-before-the-edit")
    reader = _bot(settings)
    manifest = lambda: reader.index.manifest  # noqa: E731 - this process's view of the committed state
    batch = inspect.signature(Index.embed_pending).parameters["batch"].default
    log: list[str] = []

    # 1. Between two files: the child stops after committing 2 of the 6.
    run = Ingest(lib, idx_dir, pause=("parsing", 2))
    run.wait_for(run.paused.is_set, "the pause after 2 parsed files")
    snap = _after_kill(run, reader, lib, clean, log, "between two files")
    assert len(snap["files"]) == 2 and snap["manifest"] and not snap["embedded"]

    # 2. Every file parsed, nothing embedded yet.
    run = Ingest(lib, idx_dir, pause=("embedding", 0))
    run.wait_for(run.paused.is_set, "the start of embedding")
    snap = _after_kill(run, reader, lib, clean, log, "as embedding starts")
    assert len(snap["files"]) == len(TOPICS) and not snap["embedded"]
    total = len(snap["manifest"])
    assert total > 2 * batch, "the library must need more than two batches of vectors"

    # 3. After the first batch of vectors is committed, with the rest still to do.
    run = Ingest(lib, idx_dir, pause=("embedding", 1))
    run.wait_for(run.paused.is_set, "the end of the first batch")
    snap = _after_kill(run, reader, lib, clean, log, "after the first batch")
    assert 0 < len(snap["embedded"]) < total

    # An edit between crashes: the file's old chunks (embedded by now) must leave Chroma too.
    m = manifest()
    f = Path(next(iter(m.load_chunks(sorted(m.embedded_ids())[:1]).values())).path)
    f.write_text(f.read_text(encoding="utf-8") + "\n\n## 修订\n\n间隔重复：第1天、第3天、第7天复习。\n", encoding="utf-8")
    new_hash = file_sha256(f)
    clean = _clean(lib, tmp_path / "clean")

    # 4. The moment the edited file's new version is committed (read from the manifest, no pause): the
    # child is then dropping the old version's vectors, publishing BM25 or starting to embed.
    run = Ingest(lib, idx_dir)
    run.wait_for(lambda: (manifest().file_row(str(f)) or {"file_hash": None})["file_hash"] == new_hash,
                 "the commit of the edited file")
    snap = _after_kill(run, reader, lib, clean, log, "as the edited file is committed")
    assert snap["file_hashes"][str(f)] == new_hash and snap["unembedded"] > batch

    # 5. The moment a batch of vectors is committed (read from the manifest), with another batch to go.
    embedded_before = manifest().count_embedded()
    run = Ingest(lib, idx_dir)
    run.wait_for(lambda: manifest().count_embedded() > embedded_before, "the commit of a batch of vectors")
    snap = _after_kill(run, reader, lib, clean, log, "as a batch is committed")
    assert len(snap["embedded"]) > embedded_before and snap["unembedded"] > 0

    # 6. While vectors are being computed, with a reader searching in this process meanwhile.
    run = Ingest(lib, idx_dir)
    run.wait_for(lambda: run.stage is not None and run.stage[0] == "embedding", "the start of embedding")
    _search_ok(reader)
    snap = _after_kill(run, reader, lib, clean, log, "while embedding, as a reader searches")
    assert snap["unembedded"] > 0

    final = Ingest(lib, idx_dir).finish()
    assert not final["failed"], final
    snap = _snapshot(idx_dir, lib)

    # Exactly what a clean, uninterrupted run builds.
    assert clean["unembedded"] == len(clean["manifest"]) > 20
    ids = clean["manifest"]
    assert snap["manifest"] == ids, log
    assert snap["chroma"] == ids and snap["chroma_count"] == len(ids), log  # no orphans, no duplicates
    assert snap["bm25"] is not None and sorted(snap["bm25"]) == ids and len(set(snap["bm25"])) == len(snap["bm25"])
    assert snap["bm25_generation"] == snap["generation"]
    assert snap["unembedded"] == 0
    assert snap["docs"] == clean["docs"]
    assert set(snap["files"]) == set(clean["files"]) and set(snap["files"].values()) == {"ok"}
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
