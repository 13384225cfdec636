"""`make bench`, concurrency part: time to first token for 1, 4 and 8 learners asking at once, and for one
learner while a re-index runs, each as a ratio to the single-learner figure measured in the same run.

Ratios, not seconds, because the machine is shared: the absolute times move with everything else
running, the ratios say what concurrency itself costs. Measured through ``StudyBot.ask_stream`` with the
real local model (one process's ``Components``, as the served app holds them: one loaded llama.cpp model
and its queue of turns, bot/core/model_queue.py) and the real embedder; each learner is a thread, as a
Gradio worker is (the served chat runs up to ``chat_concurrency`` of them at once).

Beside the ratios, the absolute time until each learner sees the library's evidence (the issue's target
is one second for every one of 8 learners, whatever the model's queue holds): measured to the first
``evidence`` event.

The re-index: every file of the bench's library copy gets a new paragraph, then the admin's re-index job
(ingest/reindex.py: lower priority, embedding batches wait while answers are written) re-parses,
re-tokenizes and re-embeds them while the learner asks.

    python -m evals.bench_concurrency [--llm-size 0.5b] [--max-tokens 24] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

QUESTIONS = ["什么是杠铃阅读法？", "What does the study plan recommend in the first three months?",
             "微调后的7B模型推理成本是多少？", "产品经理需要掌握哪些生成式AI知识？", "如何学习提示词工程",
             "LoRA 微调需要什么硬件", "How should a beginner learn generative AI?", "RAG 检索增强生成"]


def ratio_report(baseline_s: list[float], scenarios: dict[str, list[float]]) -> dict:
    """Each scenario's first-token times as ratios to the single-learner median of the same run.

    ``baseline_s``: single-learner first-token seconds (several asks, one at a time); ``scenarios``:
    name -> every learner's first-token seconds in that scenario. Returns per scenario the median and
    the worst learner's ratio (the worst is what the last learner in line feels)."""
    if not baseline_s or any(t <= 0 for t in baseline_s):
        raise ValueError("the single-learner baseline needs at least one positive time")
    base = statistics.median(baseline_s)
    out = {"baseline_median_s": round(base, 2), "scenarios": {}}
    for name, times in scenarios.items():
        if not times:
            out["scenarios"][name] = {"learners": 0, "median_ratio": None, "max_ratio": None}
            continue
        out["scenarios"][name] = {
            "learners": len(times),
            "median_ratio": round(statistics.median(times) / base, 2),
            "max_ratio": round(max(times) / base, 2),
        }
    return out


def format_report(rep: dict) -> str:
    lines = [f"time to first token, ratio to one learner alone (median {rep['baseline_median_s']:.2f} s in this run)"]
    for name, r in rep["scenarios"].items():
        if r["median_ratio"] is None:
            lines.append(f"  {name:<28} no learner got a first token")
        else:
            lines.append(f"  {name:<28} median x{r['median_ratio']:.2f}   worst learner x{r['max_ratio']:.2f}"
                         f"   ({r['learners']} learners)")
    return "\n".join(lines)


def first_times(bot, question: str) -> tuple[float | None, float | None]:
    """Seconds from the call to the first evidence shown and to the first streamed token (None: none)."""
    t0 = time.perf_counter()
    evidence = first = None
    for ev in bot.ask_stream(question):
        if ev.kind == "evidence" and evidence is None:
            evidence = time.perf_counter() - t0
        if ev.kind == "token" and first is None:
            first = time.perf_counter() - t0
    return evidence, first


def first_token_s(bot, question: str) -> float | None:
    """Seconds from the call to the first streamed token (None: the answer streamed no token)."""
    return first_times(bot, question)[1]


def learners_at_once(bot, n: int, offset: int = 0, evidence: list | None = None) -> list[float]:
    """Each learner's first-token seconds; ``evidence``, when given, receives each learner's seconds to
    the first evidence (None for a learner shown none)."""
    times: list[float | None] = [None] * n
    seen: list[float | None] = [None] * n
    start = threading.Barrier(n)

    def learner(i: int) -> None:
        start.wait()
        seen[i], times[i] = first_times(bot, QUESTIONS[(offset + i) % len(QUESTIONS)])

    threads = [threading.Thread(target=learner, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if evidence is not None:
        evidence.extend(seen)
    return [t for t in times if t is not None]


def evidence_report(seen: dict[str, list[float | None]], within_s: float = 1.0) -> dict:
    """Per scenario: how many learners saw evidence within ``within_s`` seconds, and the slowest."""
    out = {}
    for name, times in seen.items():
        shown = [t for t in times if t is not None]
        out[name] = {"learners": len(times), "within": sum(t <= within_s for t in shown),
                     "none": len(times) - len(shown), "max_s": round(max(shown), 2) if shown else None}
    return out


def run(llm_size: str = "0.5b", max_tokens: int = 24, baseline_asks: int = 3, sizes: tuple[int, ...] = (4, 8)) -> dict:
    from bot.components import Components
    from bot.core.settings import ROOT, Settings
    from bot.service import StudyBot
    from ingest.pipeline import ingest

    tmp = Path(tempfile.mkdtemp(prefix="studybot-bench-conc-"))
    try:
        lib = tmp / "library"
        shutil.copytree(ROOT / "knowledge", lib)
        s = Settings().with_overrides(index_dir=tmp / "index", library_dir=lib, llm="local", local_model=llm_size,
                                      max_tokens=max_tokens)
        comps = Components(s)
        idx = comps.index()
        ingest(None, s, index=idx)
        bot = StudyBot(s, components=comps)
        bot.search("warm up", 1)
        bot.chat_model().load()  # the served app loads it at start-up (ui.app.warm_up)
        first_token_s(bot, QUESTIONS[-1])  # warm: translation cache and prompt paths exercised once

        base = [t for q in QUESTIONS[:baseline_asks] if (t := first_token_s(bot, q)) is not None]
        scen: dict[str, list[float]] = {"1 learner (again)": [t for t in [first_token_s(bot, QUESTIONS[0])] if t]}
        seen: dict[str, list[float | None]] = {}
        for n in sizes:
            seen[f"{n} learners at once"] = []
            scen[f"{n} learners at once"] = learners_at_once(bot, n, evidence=seen[f"{n} learners at once"])

        for f in sorted(lib.rglob("*")):
            if f.is_file() and f.suffix in (".md", ".txt"):
                f.write_text(f.read_text(encoding="utf-8") + "\n\n## 补充\n\n间隔重复是一种按遗忘曲线安排复习的方法。\n",
                             encoding="utf-8")
        from ingest.reindex import reindex_job

        job = reindex_job(comps)
        job.start()
        time.sleep(1.0)  # the re-index is parsing/embedding when the learner asks
        during = []
        while job.snapshot()["running"] and len(during) < 3:
            t = first_token_s(bot, QUESTIONS[len(during) % len(QUESTIONS)])
            if t is not None:
                during.append(t)
        job.wait()
        snap = job.snapshot()
        report = {"files": (snap["report"] or {}).get("indexed"),
                  "chunks_embedded": (snap["report"] or {}).get("chunks_embedded"), "error": snap["error"]}
        scen["1 learner during re-index"] = during

        out = ratio_report(base, scen)
        out["evidence"] = evidence_report(seen)
        out.update({"model": bot.describe_llm()[1], "threads": s.llm_threads, "max_tokens": max_tokens,
                    "cpus": os.cpu_count(), "baseline_s": [round(t, 2) for t in base],
                    "raw_s": {k: [round(t, 2) for t in v] for k, v in scen.items()}, "reindex": report})
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench_concurrency")
    ap.add_argument("--llm-size", default="0.5b", help="0.5b (default: the bench's turns stay short) | 1.5b | a GGUF path")
    ap.add_argument("--max-tokens", type=int, default=24)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    out = run(args.llm_size, args.max_tokens)
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(f"{out['model']}, {out['threads']} threads, {out['cpus']} cpus, answers capped at {out['max_tokens']} tokens")
        print(format_report(out))
        print("evidence on screen (first evidence event)")
        for name, r in out["evidence"].items():
            print(f"  {name:<28} {r['within']} of {r['learners']} within 1 s, slowest {r['max_s']} s"
                  + (f", {r['none']} shown none" if r["none"] else ""))
        print(f"  raw seconds: {out['raw_s']}")
        print(f"  re-index during the last row: {out['reindex']}")
    return 0


if __name__ == "__main__":
    from evals.offline import offline_env

    offline_env()
    sys.exit(main())
