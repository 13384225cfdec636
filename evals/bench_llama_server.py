"""N learners on one `python -m llama_cpp.server` (STUDYBOT_LLM=openai): first-token times, aggregate
tokens/s, and whether every stream ended properly, for N requests one after another and N at once.

    python -m evals.bench_llama_server [--model PATH] [--concurrent 4] [--max-tokens 48]

llama-cpp-python's server holds one model and answers one request at a time; by default
(``interrupt_requests``) a new request *ends the stream in progress* with [DONE] and no finish
reason, which studybot reports as a cut answer. The bench runs both settings. (llama.cpp's own C++
`llama-server --parallel N` has slots that batch requests; it is not installed here.)
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

PROMPTS = ["用两句话解释什么是间隔重复。", "Explain in two sentences what retrieval-augmented generation is.",
           "用两句话说明提示词工程的作用。", "In two sentences: why do learners need a study plan?",
           "用两句话解释什么是微调。", "In two sentences: what is a vector database?",
           "用两句话解释什么是注意力机制。", "In two sentences: what is BM25?"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_stream(url: str, prompt: str, max_tokens: int, t_start: float) -> dict:
    body = {"model": "m", "messages": [{"role": "user", "content": prompt}], "stream": True,
            "max_tokens": max_tokens, "temperature": 0.2}
    first, tokens, finish = None, 0, None
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=600) as r:
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            choice = json.loads(line[6:])["choices"][0]
            if (choice.get("delta") or {}).get("content"):
                tokens += 1
                first = first or time.perf_counter() - t_start
            finish = choice.get("finish_reason") or finish
    return {"ttft_s": first, "end_s": time.perf_counter() - t_start, "tokens": tokens, "finished": bool(finish)}


def at_once(url: str, n: int, max_tokens: int) -> dict:
    rows: list[dict] = [{}] * n
    t0 = time.perf_counter()

    def go(i: int) -> None:
        rows[i] = one_stream(url, PROMPTS[i % len(PROMPTS)], max_tokens, t0)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ttft = [r["ttft_s"] for r in rows if r.get("ttft_s")]
    return {"requests": n, "completed": sum(r.get("finished", False) for r in rows),
            "ttft_median_s": round(statistics.median(ttft), 2) if ttft else None,
            "ttft_max_s": round(max(ttft), 2) if ttft else None,
            "tokens": sum(r.get("tokens", 0) for r in rows), "wall_s": round(wall, 1),
            "aggregate_tok_per_s": round(sum(r.get("tokens", 0) for r in rows) / wall, 1)}


def one_after_another(url: str, n: int, max_tokens: int) -> dict:
    """The same n requests, each alone: the first-token time of a learner who does not wait."""
    rows, tokens, wall = [], 0, 0.0
    for i in range(n):
        t0 = time.perf_counter()
        r = one_stream(url, PROMPTS[i % len(PROMPTS)], max_tokens, t0)
        wall += r["end_s"]
        rows.append(r)
        tokens += r["tokens"]
    ttft = [r["ttft_s"] for r in rows if r["ttft_s"]]
    return {"requests": n, "completed": sum(r["finished"] for r in rows),
            "ttft_median_s": round(statistics.median(ttft), 2) if ttft else None,
            "ttft_max_s": round(max(ttft), 2) if ttft else None, "tokens": tokens, "wall_s": round(wall, 1),
            "aggregate_tok_per_s": round(tokens / wall, 1)}


def run_server(model: Path, extra: list[str], n: int, max_tokens: int, threads: int) -> dict:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096", "--n_threads", str(threads),
                             "--n_threads_batch", str(threads), *extra], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        one_stream(url, "hi", 4, time.perf_counter())  # warm
        return {f"{n}_one_after_another": one_after_another(url, n, max_tokens),
                f"{n}_at_once": at_once(url, n, max_tokens)}
    finally:
        proc.terminate()
        proc.wait(30)
        os.unlink(log.name)


def main(argv: list[str] | None = None) -> int:
    from bot.core.settings import Settings
    from bot.providers.local_model import model_file

    ap = argparse.ArgumentParser(prog="python -m evals.bench_llama_server")
    ap.add_argument("--model", type=Path, default=None, help="a GGUF (default: the assembled 0.5B)")
    ap.add_argument("--concurrent", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args(argv)
    model = args.model or model_file("0.5b", Settings().model_dir)
    out = {"model": model.name, "cpus": os.cpu_count(), "threads": args.threads, "max_tokens": args.max_tokens}
    for name, extra in (("interrupt_requests=True (default)", []),
                        ("interrupt_requests=False", ["--interrupt_requests", "False"])):
        out[name] = run_server(model, extra, args.concurrent, args.max_tokens, args.threads)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
