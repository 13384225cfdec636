"""`studybot-eval`: retrieval quality of the configured index on a question set.

Questions whose gold source is not in the index are set aside (and listed), so a dev set written
over the library plus a corpus sample can be run against the library alone.

Configurations (``--compare``) are searched over the same index and question set in one run:
``hybrid`` (fusion + re-scorer, without a cross-encoder), ``rerank`` (hybrid + the cross-encoder of
``STUDYBOT_RERANKER``; skipped when none is set), ``dense``, ``bm25``, ``chunks:N`` (hybrid over the same
files cut into N-character chunks: a sibling index ``<index>-chunksN``, kept, so only the first run
embeds), ``norescore`` (hybrid without
the re-scorer), ``noglossary`` (hybrid without the glossary's other-language terms, see
``bot/retrieval/glossary.py``), ``noscope`` (hybrid without searching the source or language version a
question names, see ``bot/retrieval/scope.py``), ``translate`` (the product plus the LLM's translation of cross-language questions, as
the chat does) and ``baseline`` (the plain LangChain recipe, see ``evals/baseline.py``). Without
``--compare`` the product is measured: ``rerank`` when a cross-encoder is set, else ``hybrid``.
"""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Callable

from bot.answering.evidence import select_evidence
from bot.retrieval.retriever import FusionConfig, Retriever, contextual_query
from bot.service import StudyBot
from evals.metrics import evaluate, evidence_hit, is_unanswerable, load_questions, path_matches, prompt_hit

SearchFn = Callable[[str, int, list], list]  # (query, k, other phrasings) -> ranked results
CONFIGS = ("hybrid", "rerank", "dense", "bm25", "norescore", "noglossary", "noscope", "translate", "baseline",
           "chunks:N")
_CHUNKS = re.compile(r"chunks:(\d+)")
RERANK_MISSING = "no cross-encoder configured: set STUDYBOT_RERANKER to a local cross-encoder folder (see README)"
log = logging.getLogger("studybot")


def unavailable(bot: StudyBot, config: str) -> str | None:
    """Why a configuration cannot run with these settings, or None."""
    if config == "rerank" and bot.retriever.cfg.rerank is None:
        return RERANK_MISSING
    m = _CHUNKS.fullmatch(config)
    if m and not 100 <= int(m.group(1)) <= 4000:
        return "chunk size must be 100-4000 characters"
    return None


def chunk_variant(bot: StudyBot, size: int) -> StudyBot:
    """The eval index's files cut into ``size``-character chunks, in a sibling index that is kept
    (re-runs only re-check the files: embedding is the slow part). Overlap stays the product's,
    at most a quarter of the chunk."""
    from ingest.pipeline import ingest

    base = Path(bot.settings.index_dir)
    s = bot.settings.with_overrides(index_dir=base.parent / f"{base.name}-chunks{size}", chunk_size=size,
                                    chunk_overlap=min(bot.settings.chunk_overlap, size // 4), llm="none")
    paths = [Path(r["path"]) for r in bot.index.manifest.sources() if r["status"] == "ok"]
    log.warning("chunks:%d: indexing %d files into %s", size, len(paths), s.index_dir)
    rep = ingest(paths, s, index=bot.components.index(s))
    if rep.failed:
        raise RuntimeError(f"chunks:{size}: {len(rep.failed)} file(s) failed to index, e.g. {rep.failed[0]}")
    return StudyBot(s, components=bot.components)


def runnable(bot: StudyBot, configs) -> list[str]:
    """``configs`` without those that cannot run here (each skip is logged with its reason)."""
    out = []
    for c in configs:
        why = unavailable(bot, c)
        if why:
            log.warning("skipping %s: %s", c, why)
        else:
            out.append(c)
    return out


def searcher(bot: StudyBot, config: str) -> SearchFn:
    """The search function a configuration name stands for; results have path/text/score."""
    why = unavailable(bot, config)
    if why:
        raise ValueError(f"configuration {config!r}: {why}")
    if config in ("rerank", "translate"):
        return bot.retriever.search
    m = _CHUNKS.fullmatch(config)
    if m:
        variant = chunk_variant(bot, int(m.group(1)))
        return Retriever(variant.index, FusionConfig(**{**bot.retriever.cfg.__dict__, "rerank": None})).search
    if config in ("hybrid", "noglossary", "dense", "bm25", "norescore", "noscope"):
        base = bot.retriever.cfg
        if config in ("hybrid", "noglossary") and base.rerank is None:
            return bot.retriever.search
        # The cross-encoder is measured as its own configuration: the others run without it.
        change: dict = {"rerank": None}
        if config == "norescore":
            change["rescore"] = None
        elif config == "noscope":
            change["w_scope"] = change["w_scope_guess"] = 0.0
        elif config in ("dense", "bm25"):
            change["mode"] = config
        return Retriever(bot.index, FusionConfig(**{**base.__dict__, **change})).search
    if config == "baseline":
        from evals.baseline import LangChainBaseline

        b = LangChainBaseline(bot.index)
        b.build()
        return lambda q, k, also: b.search(q, k)
    raise ValueError(f"unknown configuration {config!r}: choose from {', '.join(CONFIGS)}")


def usable_questions(bot: StudyBot, dataset: Path) -> tuple[list[dict], list[str]]:
    questions = load_questions(dataset)
    indexed = [r["path"] for r in bot.index.manifest.sources() if r["status"] == "ok"]
    usable, absent = [], []
    for q in questions:
        if is_unanswerable(q) or any(path_matches(p, q.get("source")) for p in indexed):
            usable.append(q)
        else:
            absent.append(q["id"])
    return usable, absent


def run_eval(bot: StudyBot, dataset: Path, k: int = 10, name: str | None = None, translate: bool = False,
             config: str | None = None) -> dict:
    """``translate``: search as the chat does, with the LLM's translation of cross-language questions."""
    product = "rerank" if bot.retriever.cfg.rerank is not None else "hybrid"
    config = config or ("translate" if translate else product)
    search = searcher(bot, config)
    usable, absent = usable_questions(bot, dataset)
    outputs: dict[str, dict] = {}
    latencies = []
    # What reaches the model is measured at the prompt budget of the configured LLM, or of the
    # offline default (the local model) when the eval runs without one.
    st = bot.settings
    budget = (st.with_overrides(llm="local") if st.llm in ("none", "fake") else st).prompt_chars()
    weight = bot.index.bm25().idf_of
    for q in usable:
        query = contextual_query(q["question"], q.get("history"))
        also = bot.translations(query) if config == "translate" else []
        # As the chat searches: the glossary's terms when there is no translation (bot/retrieval/glossary.py);
        # "noglossary" measures what they add.
        terms = (bot.glossary_terms(query) if not also and (config in ("hybrid", "rerank", "norescore", "noscope", "translate")
                                                             or _CHUNKS.fullmatch(config)) else [])
        t0 = time.perf_counter()
        hits = search(query, k, also, terms) if terms else search(query, k, also)
        latencies.append((time.perf_counter() - t0) * 1000)
        out: dict = {"retrieved": [h if isinstance(h, dict) else h.to_json() for h in hits]}
        focus = " ".join([query, *also, *terms])
        out["prompt_hit"] = prompt_hit(q, hits, focus, budget, st.top_k, weight)
        if config != "baseline":  # the LangChain recipe returns plain passages, not the product's hits
            out["evidence_hit"] = evidence_hit(q, select_evidence(hits[: st.top_k], [query, *also, *terms], weight))
        if config != "baseline":  # refusal is scored on both sides: declining the unanswerable, not the rest
            # As the chat declines before the model: the relevance floor, or what the library never mentions.
            out["refused"] = bot.refuses(query, hits, also) or bool(bot.unmentioned(query, also))
        outputs[q["id"]] = out
    result = evaluate(usable, outputs, name=name or (config if config not in ("hybrid", "rerank") else Path(dataset).stem))
    result["config"] = config
    result["source_not_indexed"] = absent
    latencies.sort()
    result["search_ms_p50"] = round(latencies[len(latencies) // 2], 1) if latencies else None
    result["search_ms_p95"] = round(latencies[int(len(latencies) * 0.95)], 1) if latencies else None
    return result


def compare(bot: StudyBot, dataset: Path, configs: list[str], k: int = 10) -> dict[str, dict]:
    """Results per configuration that can run here (see ``runnable``)."""
    return {c: run_eval(bot, dataset, k, name=c, config=c) for c in runnable(bot, configs)}


def summary_lines(result: dict) -> list[str]:
    o = result["overall"]
    lines = [f"{result['name']}: {o.get('n', 0)} questions scored"
             + (f", {len(result['source_not_indexed'])} set aside (gold source not indexed)" if result["source_not_indexed"] else "")]
    keys = [k for k in ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10", "prompt_hit", "evidence_hit") if k in o]
    lines.append("overall   " + "  ".join(f"{k} {o[k]:.3f}" for k in keys))
    for group in ("by_lang", "by_kind"):
        for name, g in sorted(result.get(group, {}).items()):
            lines.append(f"{name:<9} " + "  ".join(f"{k} {g[k]:.3f}" for k in keys if k in g) + f"  (n={g.get('n', 0)})")
    if result.get("refusal"):
        lines.append(f"refusal   {result['refusal']}")
    return lines


def comparison_lines(results: dict[str, dict], baseline: str | None = None) -> list[str]:
    keys = ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10", "prompt_hit", "evidence_hit")
    lines = [f"{'config':<10} " + " ".join(f"{k:>10}" for k in keys) + f" {'refusal':>8} {'false-ref':>9} {'p95 ms':>7}"]
    base = results.get(baseline or "", {}).get("overall", {})
    for name, r in results.items():
        o = r["overall"]
        ref = (r.get("refusal") or {}).get("accuracy")
        frr = (r.get("refusal") or {}).get("false_refusal_rate")
        lines.append(f"{name:<10} " + " ".join(f"{o.get(k, 0):>10.3f}" for k in keys)
                     + f" {f'{ref:.3f}' if ref is not None else '-':>8}" + f" {f'{frr:.3f}' if frr is not None else '-':>9}"
                     + f" {r.get('search_ms_p95') or '-':>7}")
    if base and base.get("mrr"):
        for name, r in results.items():
            if name != baseline:
                lines.append(f"MRR {name} / {baseline}: {r['overall'].get('mrr', 0) / base['mrr']:.2f}×")
    return lines


def gate_failures(result: dict, thresholds_file: Path, dataset: Path) -> list[str]:
    """Metrics below the committed thresholds for this dataset (keyed by file name)."""
    import json

    table = json.loads(Path(thresholds_file).read_text(encoding="utf-8"))
    wanted = {k: v for k, v in (table.get(Path(dataset).name) or {}).items() if not k.startswith("_")} or None
    if wanted is None:
        return [f"no thresholds for {Path(dataset).name} in {thresholds_file}"]
    out = []
    o = result["overall"]
    min_n = wanted.get("min_questions", 1)
    if o.get("n", 0) < min_n:
        out.append(f"only {o.get('n', 0)} questions scored (need {min_n}): is the library indexed?")
    for key, floor in wanted.items():
        if key == "min_questions" or key.startswith("_"):
            continue
        if key.startswith("refusal."):
            got = (result.get("refusal") or {}).get(key.split(".", 1)[1])
        else:
            got = o.get(key)
        if got is None or got < floor:
            out.append(f"{key} = {got if got is None else round(got, 3)} < {floor}")
    return out
