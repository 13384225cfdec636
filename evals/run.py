"""`studybot eval`: retrieval quality of the configured index on a question set.

Questions whose gold source is not in the index are set aside (and listed), so a dev set written
over the library plus a corpus sample can be run against the library alone.
"""
from __future__ import annotations

import time
from pathlib import Path

from bot.retriever import contextual_query
from bot.service import StudyBot
from evals.metrics import evaluate, is_unanswerable, load_questions, path_matches


def run_eval(bot: StudyBot, dataset: Path, k: int = 10, name: str | None = None, translate: bool = False) -> dict:
    """``translate``: search as the chat does, with the LLM's translation of cross-language questions."""
    questions = load_questions(dataset)
    indexed = [r["path"] for r in bot.index.manifest.sources() if r["status"] == "ok"]
    usable, absent = [], []
    for q in questions:
        if is_unanswerable(q) or any(path_matches(p, q.get("source")) for p in indexed):
            usable.append(q)
        else:
            absent.append(q["id"])
    outputs: dict[str, dict] = {}
    latencies = []
    for q in usable:
        query = contextual_query(q["question"], q.get("history"))
        t0 = time.perf_counter()
        also = bot.translations(query) if translate else []
        hits = bot.retriever.search(query, k, also)
        latencies.append((time.perf_counter() - t0) * 1000)
        out: dict = {"retrieved": [h.to_json() for h in hits]}
        if is_unanswerable(q):
            floor = bot.settings.relevance_floor
            out["refused"] = not hits or hits[0].score < floor
        outputs[q["id"]] = out
    result = evaluate(usable, outputs, name=name or Path(dataset).stem)
    result["source_not_indexed"] = absent
    latencies.sort()
    result["search_ms_p50"] = round(latencies[len(latencies) // 2], 1) if latencies else None
    return result


def summary_lines(result: dict) -> list[str]:
    o = result["overall"]
    lines = [f"{result['name']}: {o.get('n', 0)} questions scored"
             + (f", {len(result['source_not_indexed'])} set aside (gold source not indexed)" if result["source_not_indexed"] else "")]
    keys = [k for k in ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10") if k in o]
    lines.append("overall   " + "  ".join(f"{k} {o[k]:.3f}" for k in keys))
    for group in ("by_lang", "by_kind"):
        for name, g in sorted(result.get(group, {}).items()):
            lines.append(f"{name:<9} " + "  ".join(f"{k} {g[k]:.3f}" for k in keys if k in g) + f"  (n={g.get('n', 0)})")
    if result.get("refusal"):
        lines.append(f"refusal   {result['refusal']}")
    return lines
