"""`make bench`, concurrency part: time to first token for 1, 4 and 8 learners asking at once, and for one
learner while a re-index runs, each as a ratio to the single-learner figure measured in the same run.

Ratios, not seconds, because the machine is shared: the absolute times move with everything else
running, the ratios say what concurrency itself costs. Measured through ``StudyBot.ask_stream`` with the
real local model (one process's ``Components``, as the served app holds them: one loaded llama.cpp model
whose lock makes concurrent learners take turns) and the real embedder; each learner is a thread, as a
Gradio worker is. The served app adds its queue in front (ui/app.py: 2 events at a time per queue), so
there learners past the second wait in Gradio's queue instead of on the model's lock: the same turn-taking.

The re-index: every file of the bench's library copy gets a new paragraph, then ``ingest`` re-parses,
re-tokenizes and re-embeds them in a thread while the learner asks (what the admin's re-index does).

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


def first_token_s(bot, question: str) -> float | None:
    """Seconds from the call to the first streamed token (None: the answer streamed no token)."""
    t0 = time.perf_counter()
    first = None
    for ev in bot.ask_stream(question):
        if ev.kind == "token" and first is None:
            first = time.perf_counter() - t0
    return first


def learners_at_once(bot, n: int, offset: int = 0) -> list[float]:
    times: list[float | None] = [None] * n
    start = threading.Barrier(n)

    def learner(i: int) -> None:
        start.wait()
        times[i] = first_token_s(bot, QUESTIONS[(offset + i) % len(QUESTIONS)])

    threads = [threading.Thread(target=learner, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [t for t in times if t is not None]


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
        for n in sizes:
            scen[f"{n} learners at once"] = learners_at_once(bot, n)

        for f in sorted(lib.rglob("*")):
            if f.is_file() and f.suffix in (".md", ".txt"):
                f.write_text(f.read_text(encoding="utf-8") + "\n\n## 补充\n\n间隔重复是一种按遗忘曲线安排复习的方法。\n",
                             encoding="utf-8")
        reindex_done = threading.Event()
        report: dict = {}

        def reindex() -> None:
            try:
                rep = ingest(None, s, index=idx)
                report.update(files=rep.indexed, chunks_embedded=rep.chunks_embedded)
            finally:
                reindex_done.set()

        th = threading.Thread(target=reindex)
        th.start()
        time.sleep(1.0)  # the re-index is parsing/embedding when the learner asks
        during = []
        while not reindex_done.is_set() and len(during) < 3:
            t = first_token_s(bot, QUESTIONS[len(during) % len(QUESTIONS)])
            if t is not None:
                during.append(t)
        th.join()
        scen["1 learner during re-index"] = during

        out = ratio_report(base, scen)
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
        print(f"  raw seconds: {out['raw_s']}")
        print(f"  re-index during the last row: {out['reindex']}")
    return 0


if __name__ == "__main__":
    for _k, _v in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
                   "OMP_WAIT_POLICY": "PASSIVE"}.items():
        os.environ.setdefault(_k, _v)
    sys.exit(main())
