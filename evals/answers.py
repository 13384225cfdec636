"""`studybot-eval --answers`: answer quality of the real chat path on a question set.

Each usable question (see :func:`evals.run.usable_questions`) goes through ``StudyBot.ask`` with its
history, under whatever LLM the settings configure. The answers are scored by
:func:`evals.metrics.evaluate` (substring coverage, overlap F1, citation precision, refusal accuracy)
plus, per answer:

  faithfulness_proxy  LLM-free: share of answer sentences mostly made of the passages' words
  faithfulness        RAGAS, with ``--judge``: share of the answer's claims the passages support
  answer_relevance    RAGAS, with ``--judge``: questions regenerated from the answer vs the question,
                      cosine under the bot's own embedder
  context_hit         the gold passage was among the passages the model saw (tells a retrieval miss
                      apart from a generation miss)

A judge can be any provider bot/providers/llm.py speaks (``local[:0.5b]``, ``ollama[:model]``,
``openai[:model]``). Every judge call has a wall-clock deadline, every metric at most
1 + ``retries`` attempts, and after a few errors in a row the judge is switched off for the rest of
the run: a dead judge costs minutes, not hours, and a failure is a None plus a count, never a crash.
"""
from __future__ import annotations

import logging
import re
import threading
from contextlib import contextmanager
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bot.answering.evidence import REPLACED
from bot.core.settings import Settings
from bot.retrieval.retriever import contextual_query
from bot.service import StudyBot
from evals.metrics import (
    contains,
    path_matches,
    ANSWER_METRICS,
    KINDS,
    answer_relevance,
    evaluate,
    faithfulness,
    faithfulness_proxy,
    first_relevant_rank,
    is_unanswerable,
    refusal_accuracy,
)
from evals.run import usable_questions

log = logging.getLogger("studybot.evals")

Progress = Callable[[str, int, int], None]
JUDGE_PROVIDERS = {"local": "local_model", "ollama": "ollama_model", "openai": "openai_model"}


# --- the judge --------------------------------------------------------------------------------------


class JudgeDisabled(RuntimeError):
    pass


@dataclass
class ChatJudge:
    """A ``prompt -> reply`` callable over any LangChain chat model, with bounded cost.

    ``timeout`` is a wall-clock deadline per call (the local llama.cpp model has no timeout of its
    own; a call past it is abandoned in a daemon thread). After ``max_errors`` calls in a row raise
    or time out, the judge refuses further calls at once.
    """

    model: object
    label: str = "judge"
    timeout: float = 60.0
    retries: int = 1
    max_errors: int = 3
    calls: int = 0
    errors: int = 0
    failures: int = 0  # metrics left None because the judge failed (after retries)
    last_error: str = ""
    _streak: int = field(default=0, repr=False)

    def __call__(self, prompt: str) -> str:
        if self._streak >= self.max_errors:
            raise JudgeDisabled(f"judge off after {self._streak} errors in a row ({self.last_error})")
        self.calls += 1
        try:
            reply = _with_deadline(lambda: self._invoke(prompt), self.timeout)
        except Exception as e:
            self.errors += 1
            self._streak += 1
            self.last_error = f"{type(e).__name__}: {e}"[:200]
            raise
        self._streak = 0
        return reply

    def _invoke(self, prompt: str) -> str:
        from langchain_core.messages import HumanMessage

        msg = self.model.invoke([HumanMessage(prompt)])  # type: ignore[attr-defined]
        return msg.content if isinstance(msg.content, str) else str(msg.content)

    def failed(self, reason: str) -> None:
        self.failures += 1
        self.last_error = reason[:200]

    @property
    def disabled(self) -> bool:
        return self._streak >= self.max_errors

    def stats(self) -> dict:
        return {"judge": self.label, "calls": self.calls, "errors": self.errors, "failures": self.failures,
                "disabled": self.disabled, "last_error": self.last_error or None}


def _with_deadline(fn: Callable[[], str], timeout: float) -> str:
    box: dict = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["out"] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["err"] = e
        finally:
            done.set()

    # A daemon thread, not an executor: an abandoned call must not hold up interpreter exit.
    threading.Thread(target=run, name="judge-call", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError(f"no reply within {timeout:g}s")
    if "err" in box:
        raise box["err"]
    return box["out"]


def judge_settings(base: Settings, spec: str) -> Settings:
    """Settings for the judge named ``PROVIDER[:MODEL]``: same endpoints and keys, temperature 0."""
    provider, _, model = spec.strip().partition(":")
    if provider not in JUDGE_PROVIDERS:
        raise ValueError(f"--judge {spec!r}: the provider must be one of {', '.join(JUDGE_PROVIDERS)} "
                         "(e.g. local:0.5b, ollama:qwen2.5:7b, openai:gpt-4o-mini)")
    over = {"llm": provider, "temperature": 0.0, "llm_timeout": base.judge_timeout}
    if model:
        over[JUDGE_PROVIDERS[provider]] = model
    return base.with_overrides(**over)


def make_judge(base: Settings, spec: str, llamas=None) -> ChatJudge:
    """Raises LLMUnavailable at once when the judge cannot even be built (no API key, no llama-cpp).
    ``llamas``: the run's loaded local models (``Components.llamas``): a local judge that is the
    answering model shares its weights instead of loading a second copy."""
    from bot.providers.llm import describe_llm, make_chat_model

    s = judge_settings(base, spec)
    provider, model = describe_llm(s)
    return ChatJudge(make_chat_model(s, llamas=llamas), f"{provider}:{model}", timeout=s.judge_timeout,
                     retries=s.judge_retries)


# --- choosing and answering questions ---------------------------------------------------------------


def stratified_subset(questions: list[dict], limit: int | None) -> list[dict]:
    """``limit`` questions spread over the kinds (round robin in KINDS order), each kind's share taken
    at even spacing through its questions; deterministic, and in the dataset's order."""
    if limit is None or limit >= len(questions):
        return list(questions)
    by_kind: dict[str, list[int]] = {}
    for i, q in enumerate(questions):
        by_kind.setdefault(str(q.get("kind")), []).append(i)
    order = [k for k in KINDS if k in by_kind] + sorted(k for k in by_kind if k not in KINDS)
    quota = dict.fromkeys(order, 0)
    left = max(0, limit)
    while left:
        for k in order:
            if left and quota[k] < len(by_kind[k]):
                quota[k] += 1
                left -= 1
    picked = [by_kind[k][int((j + 0.5) * len(by_kind[k]) / quota[k])] for k in order for j in range(quota[k])]
    return [questions[i] for i in sorted(picked)]


def answer_question(bot: StudyBot, q: dict, judge: ChatJudge | None = None) -> tuple[dict, dict]:
    """(output for :func:`evaluate`, extra row fields: status, timings, text) for one question."""
    ans = bot.ask(q["question"], q.get("history"))
    extra = {
        "status": ans.status,
        "first_token_ms": ans.timings.get("first_token_ms"),
        # When the learner first read evidence: the first look's, else the full search's.
        "evidence_ms": ans.timings.get("first_evidence_ms") or ans.timings.get("evidence_ms"),
        "total_ms": ans.timings.get("total_ms"),
        "answer": ans.text,
        "draft": ans.draft,  # the model's own text when the evidence replaced it
        "passages": [h.chunk.id for h in ans.hits],  # what the model read, for checking a check offline
    }
    if ans.status == "llm_error":  # the model did not answer: nothing of its to score
        extra["error"] = ans.text.split("\n", 1)[0]
        return {}, extra
    passages = {h.chunk.id: h.chunk.text for h in ans.hits}
    contexts = list(passages.values())
    refused = ans.status in ("not_covered", "declined", "unmentioned")  # the floor, the model, a name never in the library
    # Citations carry a short quote; precision is judged on the whole cited passage.
    cites = [{"path": c.path, "text": passages.get(c.chunk_id, c.quote), "quote": c.quote} for c in ans.citations]
    # The answer's own metrics score the model's text, also when the learner was shown the evidence instead.
    out = {"answer": ans.draft or ans.text, "citations": cites, "refused": refused}
    if not is_unanswerable(q):
        out["context_hit"] = 1.0 if first_relevant_rank(ans.hits, q) is not None else 0.0
        shown = "\n".join([*(e.text for e in ans.evidence), ans.text])
        out["sees_gold"] = 1.0 if contains(shown, q.get("answer_substring")) else 0.0
    if refused:
        return out, extra
    out["faithfulness_proxy"] = faithfulness_proxy(out["answer"], contexts)
    if judge is not None and not is_unanswerable(q):
        question = contextual_query(q["question"], q.get("history"))
        emb = bot.index.embedder
        out["faithfulness"] = faithfulness(question, out["answer"], contexts, judge, judge.retries, judge.failed)
        out["answer_relevance"] = answer_relevance(
            question, out["answer"], judge, embed=lambda texts: [emb.embed_query(t) for t in texts],
            retries=judge.retries, on_fail=judge.failed)
    return out, extra


# --- passages without the answer (negative rejection) ----------------------------------------------

# A path part or suffix naming a language version: "chapters/en/…" ~ "chapters/zh-CN/…", "x.en.mdx" ~ "x.zh.mdx".
_LANG_PART = re.compile(r"(?<=[/._-])(?:zh-cn|zh-hans|zh-tw|en|zh|cn)(?=[/._-]|$)", re.I)
# What a reply counts as when its passages lack the answer: refused by the floor or the model, a name the
# library never mentions, or the model's text replaced by the evidence (bot/answering/evidence.py).
REJECTED = ("not_covered", "declined", "unmentioned", *REPLACED)


def _doc_key(path: str) -> str:
    return _LANG_PART.sub("*", str(path).replace("\\", "/").lower())


def holds_answer(hit, q: dict) -> bool:
    """Whether ``hit`` may answer ``q``: it contains the gold answer, or it is a passage of the gold
    document or of that document's other-language version (which says the same in other words)."""
    path = hit.chunk.path
    source = q.get("source") or ""
    return (contains(hit.chunk.text, q.get("answer_substring"))
            or path_matches(path, source) or (bool(source) and _doc_key(path).endswith(_doc_key(source))))


@contextmanager
def without_answer(bot: StudyBot, q: dict, depth: int = 3):
    """Every search of ``bot`` inside the block returns its hits minus those that may answer ``q``
    (``holds_answer``), searching ``depth`` times deeper so the model still reads a full prompt of
    passages on the question's topic. What is left is the hard case for declining: passages about
    the same thing that do not say the answer."""
    retriever = bot.retriever
    search = retriever.search

    def filtered(query, k=5, also=(), terms=()):
        return [h for h in search(query, k * depth, also, terms) if not holds_answer(h, q)][:k]

    retriever.search = filtered
    try:
        yield
    finally:
        del retriever.search  # the class's method again


def run_without_answers(bot: StudyBot, dataset: Path, limit: int | None = None,
                        progress: Progress | None = None) -> dict:
    """Negative rejection: each answerable question is asked with the passages that could answer it
    removed from every search (``without_answer``). The right reply declines or is flagged (``REJECTED``);
    ``rejected`` is the share that did, ``leaked`` the share whose reply still contains the gold answer
    (the model knew it, or another passage said it)."""
    usable, absent = usable_questions(bot, dataset)
    questions = stratified_subset([q for q in usable if not is_unanswerable(q)], limit)
    rows = []
    t0 = time.perf_counter()
    for i, q in enumerate(questions, 1):
        with without_answer(bot, q):
            ans = bot.ask(q["question"], q.get("history"))
        rows.append({"id": q["id"], "kind": q.get("kind"), "lang": q.get("lang"), "question": q["question"],
                     "status": ans.status, "rejected": ans.status in REJECTED,
                     "leaked": contains(ans.draft or ans.text, q.get("answer_substring")),
                     "first_token_ms": ans.timings.get("first_token_ms"), "answer": ans.text,
                     "draft": ans.draft, "passages": [h.chunk.id for h in ans.hits]})
        if progress:
            progress("answers", i, len(questions))
    scored = [r for r in rows if r["status"] != "llm_error"]
    provider, model = bot.describe_llm()

    def share(key: str, among: list[dict]) -> float | None:
        return round(sum(bool(r[key]) for r in among) / len(among), 3) if among else None

    return {
        "name": f"{Path(dataset).stem} without the answer", "mode": "without_answer",
        "llm": {"provider": provider, "model": model}, "limit": limit, "n_questions": len(rows),
        "rejected": share("rejected", scored), "leaked": share("leaked", scored),
        "by_lang": {lang: share("rejected", [r for r in scored if r["lang"] == lang])
                    for lang in sorted({str(r["lang"]) for r in scored})},
        "statuses": dict(Counter(r["status"] for r in rows)),
        "llm_errors": [r["id"] for r in rows if r["status"] == "llm_error"],
        "first_token_ms_p50": _median([r["first_token_ms"] for r in rows]),
        "source_not_indexed": absent, "seconds": round(time.perf_counter() - t0, 1), "rows": rows,
    }


def without_answer_lines(result: dict) -> list[str]:
    by_lang = ", ".join(f"{k} {_f(v)}" for k, v in result["by_lang"].items())
    return [
        f"{result['name']}: {result['n_questions']} answerable questions, their answer's passages removed, "
        f"answered by {result['llm']['provider']} {result['llm']['model']} in {result['seconds']} s",
        f"declined or flagged {_f(result['rejected'])} ({by_lang}); the reply still holds the gold answer "
        f"{_f(result['leaked'])}; statuses " + ", ".join(f"{k} {v}" for k, v in result["statuses"].items()),
    ]


def _median(vals: list) -> float | None:
    v = sorted(x for x in vals if x is not None)
    if not v:
        return None
    mid = len(v) // 2
    return round(v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2, 1)


def run_answers(bot: StudyBot, dataset: Path, limit: int | None = None, judge: ChatJudge | None = None,
                progress: Progress | None = None, name: str | None = None) -> dict:
    usable, absent = usable_questions(bot, dataset)
    questions = stratified_subset(usable, limit)
    outputs: dict[str, dict] = {}
    extras: dict[str, dict] = {}
    t0 = time.perf_counter()
    for i, q in enumerate(questions, 1):
        outputs[q["id"]], extras[q["id"]] = answer_question(bot, q, judge)
        if progress:
            progress("answers", i, len(questions))
    result = evaluate(questions, outputs, name=name or f"{Path(dataset).stem} answers")
    for row in result["rows"]:
        row.update(extras.get(row["id"], {}))
        for key, v in outputs.get(row["id"], {}).items():  # a metric that abstained shows as None
            if key in ANSWER_METRICS:
                row.setdefault(key, v)
    provider, model = bot.describe_llm()
    rows = result["rows"]
    result.update({
        "mode": "answers",
        "llm": {"provider": provider, "model": model},
        "limit": limit,
        "source_not_indexed": absent,
        "statuses": dict(Counter(r.get("status") for r in rows)),
        # Refusal counted with the grounding warning too: the learner is told the library does not
        # support what the model said (the strict figure above counts only declining to answer).
        "refusal_or_warning": refusal_accuracy(
            questions, {qid: bool(o.get("refused")) or extras[qid].get("status") in REPLACED
                        for qid, o in outputs.items()}),
        "llm_errors": [r["id"] for r in rows if r.get("status") == "llm_error"],
        "first_token_ms_p50": _median([r.get("first_token_ms") for r in rows]),
        "evidence_ms_p50": _median([r.get("evidence_ms") for r in rows]),
        "total_ms_p50": _median([r.get("total_ms") for r in rows]),
        "seconds": round(time.perf_counter() - t0, 1),
        "judge": judge.stats() if judge else None,
    })
    return result


# --- printing ---------------------------------------------------------------------------------------


def _f(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def answer_summary_lines(result: dict) -> list[str]:
    o, ref, j = result["overall"], result.get("refusal") or {}, result.get("judge")
    kinds = Counter(r.get("kind") for r in result["rows"])
    lines = [
        f"{result['name']}: {len(result['rows'])} questions ({', '.join(f'{k} {n}' for k, n in kinds.items())}) "
        f"answered by {result['llm']['provider']} {result['llm']['model']} in {result['seconds']} s; "
        f"judge: {j['judge'] if j else 'none (LLM-free proxies)'}",
        f"learner sees the gold answer {_f(o.get('sees_gold'))} (in the answer itself {_f(o.get('answer_contains'))})  "
        f"coverage {_f(o.get('answer_coverage'))} (F1 {_f(o.get('answer_f1'))})  "
        f"citation precision {_f(o.get('citation_precision'))}  gold passage in context {_f(o.get('context_hit'))}",
        (f"faithfulness(judge) {_f(o.get('faithfulness'))}  answer relevance {_f(o.get('answer_relevance'))}  "
         if j else "answer relevance – (needs --judge)  ")
        + f"faithfulness(proxy) {_f(o.get('faithfulness_proxy'))}",
        f"refusal accuracy {_f(ref.get('accuracy'))} (false refusals {_f(ref.get('false_refusal_rate'))}, "
        f"balanced {_f(ref.get('balanced'))}); with the grounding warning "
        f"{_f((result.get('refusal_or_warning') or {}).get('accuracy'))} "
        f"(false {_f((result.get('refusal_or_warning') or {}).get('false_refusal_rate'))})",
        f"median time to evidence {result.get('evidence_ms_p50')} ms, to first token {result['first_token_ms_p50']} ms, "
        f"total {result['total_ms_p50']} ms; "
        "statuses " + ", ".join(f"{k} {v}" for k, v in result["statuses"].items()),
    ]
    if j:
        lines.append(f"judge: {j['calls']} calls, {j['errors']} errors, {j['failures']} metrics left empty"
                     + (" (switched off after repeated errors)" if j["disabled"] else "")
                     + (f"; last error: {j['last_error']}" if j["failures"] and j["last_error"] else ""))
    if result["llm_errors"]:
        lines.append(f"LLM failed on {len(result['llm_errors'])} questions (not scored): {', '.join(result['llm_errors'])}")
    return lines
