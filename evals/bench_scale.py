"""Today's single-process index at 10k / 100k / 1M synthetic passages: build time, search latency and memory.

    python -m evals.bench --scale 1000000          # sizes 10k, 100k and 1M (each size in its own process)
    python -m evals.bench_scale --size 100000 --json   # one size

What is real and what is synthetic:
- The product's classes do the work: ``bot.index.manifest.Manifest`` (SQLite) holds the passages,
  ``Index.rebuild_bm25(full=True)`` builds the BM25 matrices from it and saves bm25.npz (the path of a
  fresh index or a tokenizer change), ``BM25.load`` is what a starting process pays, and
  ``bot.index.dense_exact.ExactDense`` builds its in-memory copy by the manifest's embedded ids and
  answers the dense queries.
- The passages are synthetic: ~49 tokens each (the real corpus index averages 49 BM25 tokens per
  chunk), Chinese words drawn with their frequencies from jieba's own dictionary (~349k words) and
  ~20% English-like words from a Zipf-distributed made-up vocabulary. Tokens are stored directly, not
  produced by jieba (tokenizing 1M passages would be the ingest's cost, measured by bench_corpus).
- The vectors are random unit vectors of the real dimension (384) instead of embeddings, handed to
  ExactDense by a stand-in store (no Chroma: inserting 1M vectors into Chroma's graph takes far longer
  than this bench may run; `make bench` times Chroma's graph at 16k/100k). Quality is not measured.
- Queries: 3-6 words drawn from the same distributions, searched as text (jieba tokenizes them, as
  for a learner's question); dense queries are random unit vectors. 40 candidates each, as the retriever asks.
Memory: resident set size from /proc (this process, so each size runs in a fresh process), and the
process's peak (ru_maxrss).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 384
TOKENS_PER_PASSAGE = 49
EN_SHARE = 0.2
EN_VOCAB = 30_000
FILE_CHUNKS = 1000  # passages per synthetic file (one manifest transaction each)
QUERIES = 40
CANDIDATES = 40
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def pct(values: list[float], p: float) -> float:
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


class Vocabulary:
    """Chinese words with jieba's corpus frequencies, English-like words with Zipf frequencies."""

    def __init__(self, rng: np.random.Generator) -> None:
        import jieba

        words, freqs = [], []
        with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as f:
            for line in f:
                w, n, *_ = line.split(" ")
                if len(w) >= 2 and all("\u4e00" <= ch <= "\u9fff" for ch in w):
                    words.append(w)
                    freqs.append(float(n))
        self.zh = words
        self.zh_cdf = np.cumsum(np.asarray(freqs)) / sum(freqs)
        letters = np.array(list("abcdefghiklmnoprstuvwy"))
        lens = rng.integers(3, 10, EN_VOCAB)
        self.en = sorted({"".join(rng.choice(letters, n)) for n in lens})
        r = np.arange(1, len(self.en) + 1, dtype=float) ** -1.07
        self.en_cdf = np.cumsum(r) / r.sum()

    def passages(self, rng: np.random.Generator, lengths: np.ndarray) -> list[list[str]]:
        """Token lists of the given lengths, drawn at once (inverse CDF: one search per token)."""
        total = int(lengths.sum())
        is_en = rng.random(total) < EN_SHARE
        zh = np.searchsorted(self.zh_cdf, rng.random(total), side="right").clip(0, len(self.zh) - 1)
        en = np.searchsorted(self.en_cdf, rng.random(total), side="right").clip(0, len(self.en) - 1)
        words = [self.en[e] if b else self.zh[z] for z, e, b in zip(zh.tolist(), en.tolist(), is_en.tolist())]
        cuts = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        return [words[a:b] for a, b in zip(cuts[:-1], cuts[1:])]

    def passage(self, rng: np.random.Generator, n: int) -> list[str]:
        return self.passages(rng, np.asarray([n]))[0]


def fill_manifest(manifest, vocab: Vocabulary, n: int, rng: np.random.Generator) -> list[str]:
    """``n`` passages in files of FILE_CHUNKS, committed the way ingest commits a parsed file."""
    from bot.core.types import Chunk

    ids: list[str] = []
    for f in range(0, n, FILE_CHUNKS):
        m = min(FILE_CHUNKS, n - f)
        lens = rng.poisson(TOKENS_PER_PASSAGE, m).clip(5, None)
        toks = vocab.passages(rng, lens)
        path = f"synthetic/{f // FILE_CHUNKS:05d}.md"
        chunks = [Chunk(id=f"c{f + k:08d}", text=" ".join(t), path=path, title=path, ordinal=k) for k, t in enumerate(toks)]
        doc = f"d{f // FILE_CHUNKS:07d}"
        manifest.replace_file(path, doc, 0, 0.0, [(doc, {"title": path, "lang": "zh"}, chunks, toks)])
        ids.extend(c.id for c in chunks)
    manifest.mark_embedded(ids)
    return ids


class RandomVectors:
    """Stands in for the Chroma store ExactDense copies from: random unit vectors by chunk id."""

    embedder_id = "synthetic-random-384"

    def __init__(self, ids: list[str], rng: np.random.Generator) -> None:
        self.pos = {i: k for k, i in enumerate(ids)}
        self.m = np.empty((len(ids), DIM), dtype=np.float32)
        for s in range(0, len(ids), 100_000):  # in slices: a float64 temporary of 1M x 384 is 3 GB
            part = rng.standard_normal((min(100_000, len(ids) - s), DIM), dtype=np.float32)
            part /= np.linalg.norm(part, axis=1, keepdims=True)
            self.m[s : s + len(part)] = part

    def vectors_batched(self, ids: list[str], batch: int = 1000) -> dict[str, np.ndarray]:
        return {i: self.m[self.pos[i]] for i in ids if i in self.pos}


def measure(n: int, work: Path, seed: int = 0) -> dict:
    """Everything for one size, in this process (run it in a fresh one for a clean memory figure)."""
    from bot.core.settings import Settings
    from bot.index.dense_exact import ExactDense
    from bot.index.lexical import BM25
    from bot.index.store import Index

    rng = np.random.default_rng(seed)
    out: dict = {"passages": n}
    base = rss_mb()
    t0 = time.perf_counter()
    vocab = Vocabulary(rng)
    out["vocab_s"] = round(time.perf_counter() - t0, 1)
    settings = Settings(index_dir=work / "index", library_dir=work, llm="none", embedder="fake",
                        exact_dense_limit=max(n, 1))
    index = Index(settings)
    index.check_embedder(for_write=True)  # records the embedder and tokenizer, as an ingest's first write does

    t0 = time.perf_counter()
    ids = fill_manifest(index.manifest, vocab, n, rng)
    out["manifest_s"] = round(time.perf_counter() - t0, 1)
    out["manifest_mb"] = round((work / "index" / "manifest.sqlite").stat().st_size / 2**20, 1)
    base_after_manifest = rss_mb()

    t0 = time.perf_counter()
    bm = index.rebuild_bm25(full=True)  # reads every passage's tokens from the manifest, builds, saves
    out["bm25_build_s"] = round(time.perf_counter() - t0, 1)
    out["bm25_vocab"] = len(bm.vocab)
    out["bm25_nnz"] = int(bm.matrix.nnz)
    out["bm25_file_mb"] = round((work / "index" / "bm25.npz").stat().st_size / 2**20, 1)
    out["bm25_peak_rss_mb"] = round(peak_rss_mb(), 0)
    t0 = time.perf_counter()
    bm = BM25.load(work / "index")  # what a starting (or another) process pays
    out["bm25_load_s"] = round(time.perf_counter() - t0, 2)
    index._bm25 = bm
    out["bm25_rss_mb"] = round(rss_mb() - base_after_manifest, 0)

    store = RandomVectors(ids, rng)
    index.dense = ExactDense(store, index.manifest, settings.exact_dense_limit)
    before_copy = rss_mb()
    t0 = time.perf_counter()
    index.dense_search(store.m[0], CANDIDATES)  # the first query fills the copy
    out["dense_copy_s"] = round(time.perf_counter() - t0, 1)
    out["dense_copy_mb"] = round(index.dense._m.nbytes / 2**20, 0)
    out["dense_copy_rss_mb"] = round(rss_mb() - before_copy, 0)
    store.m = np.empty((0, DIM), dtype=np.float32)  # the stand-in source goes; Chroma's copy is not ours to count
    store.pos = {}

    qrng = np.random.default_rng(seed + 1)
    texts = []
    for _ in range(QUERIES):
        words = vocab.passage(qrng, int(qrng.integers(3, 7)))
        zh = [w for w in words if not w.isascii()]
        en = [w for w in words if w.isascii()]
        texts.append("".join(zh) + (" " + " ".join(en) if en else ""))
    bm.search(texts[0], CANDIDATES)  # warm: jieba's dictionary loads
    lat_bm, hits = [], 0
    for q in texts:
        t0 = time.perf_counter()
        got = index.bm25().search(q, CANDIDATES)
        lat_bm.append((time.perf_counter() - t0) * 1000)
        hits += bool(got)
    qs = qrng.standard_normal((QUERIES, DIM), dtype=np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    lat_dense = []
    for q in qs:
        t0 = time.perf_counter()
        index.dense_search(q, CANDIDATES)
        lat_dense.append((time.perf_counter() - t0) * 1000)
    out.update({
        "bm25_p50_ms": round(pct(lat_bm, 50), 1), "bm25_p95_ms": round(pct(lat_bm, 95), 1),
        "bm25_queries_with_hits": hits, "queries": QUERIES,
        "dense_p50_ms": round(pct(lat_dense, 50), 1), "dense_p95_ms": round(pct(lat_dense, 95), 1),
        "cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
        "rss_mb": round(rss_mb(), 0), "rss_over_start_mb": round(rss_mb() - base, 0), "peak_rss_mb": round(peak_rss_mb(), 0),
    })
    return out


def run_sizes(sizes: list[int], timeout_s: float = 3600.0) -> list[dict]:
    """Each size in a fresh process (clean memory figures); a size that fails or runs out of time is
    reported as where today's design breaks, and larger sizes are not tried."""
    rows = []
    for n in sizes:
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-m", "evals.bench_scale", "--size", str(n), "--json"],
                                  capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            rows.append({"passages": n, "error": f"did not finish within {timeout_s:g} s"})
            break
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            rows.append({"passages": n, "error": f"exit {proc.returncode}: {tail[0][:200]}"})
            break
        row = json.loads(proc.stdout)
        row["wall_s"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    """The Markdown table docs/scaling.md carries."""
    head = ("| passages | manifest build s (SQLite MB) | BM25 build s / load s | BM25 vocab, nnz | BM25 p50 / p95 ms "
            "| dense copy MB (s to fill) | dense exact p50 / p95 ms | RSS MB (peak) | CPU s / wall s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['passages']:,} | {r['error']} |" + " |" * (head.count("|") - 3))
            continue
        lines.append(
            f"| {r['passages']:,} | {r['manifest_s']} ({r['manifest_mb']}) | {r['bm25_build_s']} / {r['bm25_load_s']} "
            f"| {r['bm25_vocab']:,}, {r['bm25_nnz']:,} | {r['bm25_p50_ms']} / {r['bm25_p95_ms']} "
            f"| {r['dense_copy_mb']:.0f} ({r['dense_copy_s']}) | {r['dense_p50_ms']} / {r['dense_p95_ms']} "
            f"| {r['rss_mb']:.0f} ({r['peak_rss_mb']:.0f}) | {r['cpu_s']} / {r.get('wall_s', '')} |")
    return "\n".join(lines)


def sizes_up_to(scale: int) -> list[int]:
    return [n for n in DEFAULT_SIZES if n < scale] + [scale]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench_scale")
    ap.add_argument("--size", type=int, help="one size, in this process")
    ap.add_argument("--scale", type=int, default=1_000_000, help="sizes 10k, 100k ... up to this")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per size before it counts as broken")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.size:
        work = Path(tempfile.mkdtemp(prefix="studybot-bench-scale-"))
        try:
            out = measure(args.size, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(json.dumps(out))
        return 0
    rows = run_sizes(sizes_up_to(args.scale), args.timeout)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"synthetic passages, random unit vectors (dim {DIM}), {os.cpu_count()} cpus; "
              f"`python -m evals.bench --scale {args.scale}`")
        print(table(rows))
    return 0


if __name__ == "__main__":
    from evals.offline import offline_env

    offline_env()
    sys.exit(main())
