"""Retrieval and answer-quality metrics for the eval sets in evals/datasets/.

Everything here is a pure function over plain data: no index, no model. A runner retrieves (and
optionally answers) each question, collects per-question outputs, and calls :func:`evaluate`;
:mod:`evals.report` renders the result.

Retrieved items and citations may be dicts with "path" and "text" (``Hit.to_json()``), objects
with ``.path``/``.text``, or ``Hit``-like objects with a ``.chunk``.

Relevance of a passage to a question:
  passage level  path matches the gold ``source`` suffix AND the text contains ``answer_substring``
                 (when the question has one); this is the headline number.
  doc level      path matches only; tells "found the right document, wrong chunk" apart from a miss.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.answering.prompt_guard import guard_passage
from bot.core.text import detect_lang, sentence_spans

KINDS = ("fact", "concept", "crosslingual", "followup", "unanswerable", "plan", "newsletter")
LANGS = ("zh", "en")
DEFAULT_KS = (1, 5, 10)
MRR_K = 10
NDCG_K = 10

_WS = re.compile(r"\s+")
# Emphasis/code markers a loader may or may not strip; gold substrings never contain them.
_MARKUP = re.compile(r"[*`]")
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_BIGRAM_KEEP = re.compile(r"\w")  # letters and digits, Chinese characters among them


# --- datasets -------------------------------------------------------------------------------------

REQUIRED_FIELDS = ("id", "question", "lang", "source", "answer_substring", "answer", "kind")


def load_questions(path: str | Path) -> list[dict]:
    """Read a JSONL question set; blank lines and lines starting with '#' or '//' are skipped."""
    out: list[dict] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        s = line.strip()
        if not s or s.startswith(("#", "//")):
            continue
        try:
            q = json.loads(s)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: not JSON: {e}") from None
        missing = [f for f in REQUIRED_FIELDS if f not in q]
        if missing:
            raise ValueError(f"{path}:{n}: missing fields {missing}")
        out.append(q)
    return out


def load_sample_list(path: str | Path) -> list[str]:
    """Paths listed in a sample file (corpus_sample.txt, ci_sample.txt), comments dropped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [s for s in (ln.strip() for ln in lines) if s and not s.startswith("#")]


def is_unanswerable(q: Mapping) -> bool:
    return bool(q.get("unanswerable")) or q.get("kind") == "unanswerable" or not q.get("source")


def validate_questions(
    questions: Sequence[Mapping],
    files: Iterable[str],
    text_of: Callable[[str], str] | None = None,
) -> list[str]:
    """Problems with a question set against the indexed files (empty list = valid).

    Checks unique ids, known kinds/langs, that every source suffix matches exactly one file, and,
    when ``text_of(path)`` is given, that the answer substring occurs verbatim in that file's text.
    """
    files = [_norm_path(f) for f in files]
    problems: list[str] = []
    seen: set[str] = set()
    for q in questions:
        qid = str(q.get("id"))
        if qid in seen:
            problems.append(f"{qid}: duplicate id")
        seen.add(qid)
        if q.get("lang") not in LANGS:
            problems.append(f"{qid}: lang {q.get('lang')!r} not in {LANGS}")
        if q.get("kind") not in KINDS:
            problems.append(f"{qid}: kind {q.get('kind')!r} not in {KINDS}")
        hist = q.get("history")
        if hist is not None and not (
            isinstance(hist, list) and all(isinstance(m, dict) and m.get("role") and m.get("content") for m in hist)
        ):
            problems.append(f"{qid}: history must be a list of {{role, content}}")
        if is_unanswerable(q):
            if q.get("source") or q.get("answer_substring"):
                problems.append(f"{qid}: unanswerable but has a source/answer_substring")
            continue
        sub = q.get("answer_substring")
        if sub is not None and (not sub.strip() or "\n" in sub):
            problems.append(f"{qid}: answer_substring must be a non-empty single line")
        hits = [f for f in files if path_matches(f, q["source"])]
        if len(hits) != 1:
            problems.append(f"{qid}: source {q['source']!r} matches {len(hits)} files")
            continue
        if text_of is not None and sub:
            if sub not in text_of(hits[0]):
                problems.append(f"{qid}: answer_substring {sub!r} not in {hits[0]}")
    return problems


# --- matching -------------------------------------------------------------------------------------


def _norm_path(p: Any) -> str:
    return str(p or "").replace("\\", "/")


def path_matches(path: Any, source: str | None) -> bool:
    """True when ``path`` ends with the ``source`` suffix on a path-component boundary.

    The boundary matters: "cot.en.mdx" must not match ".../auto_cot.en.mdx".
    """
    if not source:
        return False
    p, s = _norm_path(path), _norm_path(source).lstrip("/")
    return p == s or p.endswith("/" + s)


def normalize_text(text: str | None) -> str:
    """Comparison form: NFKC (full/half width), casefolded, whitespace and emphasis markers removed.

    Chunkers re-join sentences with or without spaces and loaders may keep or strip Markdown, so a
    verbatim substring of the source must still match the chunk text.
    """
    t = unicodedata.normalize("NFKC", text or "").casefold()
    return _MARKUP.sub("", _WS.sub("", t))


def contains(text: str | None, needle: str | None) -> bool:
    n = normalize_text(needle)
    return bool(n) and n in normalize_text(text)


def _field(item: Any, name: str) -> Any:
    if isinstance(item, Mapping):
        if name in item:
            return item[name]
        chunk = item.get("chunk")
        return _field(chunk, name) if chunk is not None else None
    if hasattr(item, name):
        return getattr(item, name)
    chunk = getattr(item, "chunk", None)
    return getattr(chunk, name, None) if chunk is not None else None


def is_relevant(item: Any, gold: Mapping, level: str = "passage") -> bool:
    """Is a retrieved item relevant to the gold (``source``, ``answer_substring``)?"""
    if not path_matches(_field(item, "path"), gold.get("source")):
        return False
    if level == "doc":
        return True
    if level != "passage":
        raise ValueError(f"level must be 'passage' or 'doc', not {level!r}")
    sub = gold.get("answer_substring")
    return True if not sub else contains(_field(item, "text"), sub)


def relevance_list(items: Sequence[Any], gold: Mapping, level: str = "passage", k: int | None = None) -> list[bool]:
    return [is_relevant(it, gold, level) for it in (items if k is None else items[:k])]


def first_relevant_rank(items: Sequence[Any], gold: Mapping, level: str = "passage") -> int | None:
    """1-based rank of the first relevant item, or None when nothing retrieved is relevant."""
    for i, it in enumerate(items, 1):
        if is_relevant(it, gold, level):
            return i
    return None


# --- ranking metrics ------------------------------------------------------------------------------


def hit_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None, k: int = MRR_K) -> float:
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def mrr(ranks: Iterable[int | None], k: int = MRR_K) -> float:
    """Mean reciprocal rank, cut at k; e.g. ranks [1, 2, None] -> (1 + 0.5 + 0) / 3."""
    rs = list(ranks)
    return sum(reciprocal_rank(r, k) for r in rs) / len(rs) if rs else 0.0


def ndcg_at(relevances: Sequence[bool | float], k: int = NDCG_K, n_relevant: int | None = None) -> float:
    """nDCG@k with binary gains; every relevant chunk counts.

    The ideal ranking puts ``n_relevant`` relevant chunks first. Without it, the relevant chunks that
    were retrieved in the top k stand in for the total (the corpus-wide count needs the index), so
    the score then measures ordering only, not how many relevant chunks were missed.
    """
    rel = [float(bool(r)) for r in relevances[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(rel))
    ideal_n = min(k, n_relevant if n_relevant is not None else int(sum(rel)))
    idcg = sum(1.0 / math.log2(i + 2) for i in range(ideal_n))
    return dcg / idcg if idcg > 0 else 0.0


def score_retrieval(q: Mapping, items: Sequence[Any], ks: Sequence[int] = DEFAULT_KS, n_relevant: int | None = None) -> dict:
    """Per-question retrieval row (metrics are None for unanswerable questions)."""
    row: dict[str, Any] = _row_head(q)
    if is_unanswerable(q):
        return row
    rels = relevance_list(items, q)
    rank = next((i for i, r in enumerate(rels, 1) if r), None)
    doc_rank = first_relevant_rank(items, q, level="doc")
    row["rank"] = rank
    row["doc_rank"] = doc_rank
    for k in ks:
        row[f"hit@{k}"] = hit_at(rank, k)
    for k in ks:
        row[f"doc_hit@{k}"] = hit_at(doc_rank, k)
    row["mrr"] = reciprocal_rank(rank)
    row["doc_mrr"] = reciprocal_rank(doc_rank)
    row["ndcg@10"] = ndcg_at(rels, NDCG_K, n_relevant)
    row["retrieved"] = len(items)
    row["top_path"] = _norm_path(_field(items[0], "path")) if items else None
    return row


def _row_head(q: Mapping) -> dict:
    return {
        "id": q.get("id"),
        "lang": q.get("lang"),
        "kind": q.get("kind"),
        "unanswerable": is_unanswerable(q),
        "question": q.get("question"),
    }


def evidence_hit(q: Mapping, evidence: Sequence[Any]) -> float | None:
    """1.0 when the gold substring is inside the evidence shown before the answer
    (bot.answering.evidence); None when the question is unanswerable."""
    if is_unanswerable(q):
        return None
    return 1.0 if any(contains(_field(e, "text"), q.get("answer_substring")) for e in evidence) else 0.0


# --- refusals and citations -----------------------------------------------------------------------


def prompt_hit(q: Mapping, items: Sequence[Any], focus: str, budget: int, top_k: int,
               weight: Callable[[str], float] | None = None) -> float | None:
    """1.0 when the gold substring reaches the model: inside the stretch the chat keeps of a gold-file
    passage among the first ``top_k`` (bot.answering.chain.best_quote at that passage's share of ``budget``).
    Unlike hit@k it does not grow with the chunk size, so chunk sizes compare fairly; None when
    the question is unanswerable."""
    from bot.answering.chain import best_quote, passage_budgets

    if is_unanswerable(q):
        return None
    items = list(items)[:top_k]
    for item, per in zip(items, passage_budgets(budget, len(items))):
        if is_relevant(item, q) and contains(best_quote(_field(item, "text") or "", focus, per, weight),
                                             q.get("answer_substring")):
            return 1.0
    return 0.0


def refusal_accuracy(questions: Sequence[Mapping], refused: Mapping[str, bool | None]) -> dict:
    """How well the bot declines exactly the questions the library cannot answer.

    ``accuracy`` is the share of unanswerable questions that were refused (the headline);
    ``false_refusal_rate`` is the share of answerable ones refused, so "always refuse" cannot win;
    ``balanced`` averages the two sides. Questions absent from ``refused`` (or None) are skipped.
    """
    tp = fn = fp = tn = 0
    for q in questions:
        r = refused.get(q.get("id"))
        if r is None:
            continue
        if is_unanswerable(q):
            tp += bool(r)
            fn += not r
        else:
            fp += bool(r)
            tn += not r
    n_un, n_ans = tp + fn, fp + tn
    acc = tp / n_un if n_un else None
    frr = fp / n_ans if n_ans else None
    balanced = (acc + (1 - frr)) / 2 if acc is not None and frr is not None else None
    return {
        "accuracy": acc,
        "false_refusal_rate": frr,
        "balanced": balanced,
        "n_unanswerable": n_un,
        "n_answerable": n_ans,
    }


def citation_precision(citations: Sequence[Any], gold: Mapping) -> float | None:
    """Share of cited passages that contain the answer substring or come from the gold source.

    A citation carries "path" and the quoted passage as "text" (or "quote"). None when nothing was
    cited or the question has no gold.
    """
    if not citations or is_unanswerable(gold):
        return None
    sub = gold.get("answer_substring")
    good = 0
    for c in citations:
        text = _field(c, "text") or _field(c, "quote")
        if path_matches(_field(c, "path"), gold.get("source")) or (sub and contains(text, sub)):
            good += 1
    return good / len(citations)


# --- LLM-free answer proxies ----------------------------------------------------------------------


def overlap_tokens(text: str | None, lang: str | None = None) -> list[str]:
    """zh: character bigrams over letters/digits/CJK (no word segmenter needed); en: lowercase words."""
    t = unicodedata.normalize("NFKC", text or "").casefold()
    lang = lang or detect_lang(t)
    if lang == "zh":
        chars = [c for c in t if _BIGRAM_KEEP.match(c)]
        if len(chars) == 1:
            return chars
        return [chars[i] + chars[i + 1] for i in range(len(chars) - 1)]
    return _WORD.findall(t)


def overlap_f1(prediction: str | None, reference: str | None, lang: str | None = None) -> float:
    """Token-overlap F1 (SQuAD style, multiset) between a generated and a reference answer."""
    lang = lang or detect_lang(reference or "")
    p, r = Counter(overlap_tokens(prediction, lang)), Counter(overlap_tokens(reference, lang))
    common = sum((p & r).values())
    if not common:
        return 0.0
    prec, rec = common / sum(p.values()), common / sum(r.values())
    return 2 * prec * rec / (prec + rec)


def substring_coverage(answer: str | None, answer_substring: str | None, lang: str | None = None) -> float | None:
    """1.0 when the answer contains the gold substring verbatim (modulo whitespace/width/case);
    otherwise the share of the substring's tokens that appear in the answer (answers paraphrase)."""
    if not answer_substring:
        return None
    if contains(answer, answer_substring):
        return 1.0
    lang = lang or detect_lang(answer_substring)
    need = Counter(overlap_tokens(answer_substring, lang))
    if not need:
        return 0.0
    have = Counter(overlap_tokens(answer, lang))
    return sum((need & have).values()) / sum(need.values())


_EN_STOP = frozenset(
    "a an the and or but if of to in on at by for with from as into about than then so that this these those it its "
    "is are was were be been being has have had do does did can could will would should may might must not no "
    "you your we our they their he she his her i me my what which who whom how when where why there here also "
    "only just more most very such any all each other some".split()
)


def _content_tokens(text: str, lang: str) -> list[str]:
    toks = overlap_tokens(text, lang)
    return toks if lang == "zh" else [t for t in toks if t not in _EN_STOP and (len(t) > 1 or t.isdigit())]


def faithfulness_proxy(answer: str | None, contexts: Sequence[Any], min_support: float = 0.5,
                       min_tokens: int = 3) -> float | None:
    """LLM-free stand-in for RAGAS faithfulness: the share of the answer's sentences whose content
    tokens (English words minus function words; Chinese character bigrams) are mostly (``min_support``)
    found in the contexts. Sentences with fewer than ``min_tokens`` content tokens are not claims.

    It rewards copying and cannot see paraphrase or translation: an English answer drawn from Chinese
    passages scores near 0. None when the answer has no scorable sentence.
    """
    ctx = "\n".join(str(_field(c, "text") or c) for c in contexts)
    pools: dict[str, set[str]] = {}
    supported = scored = 0
    answer = answer or ""
    for a, b in sentence_spans(answer):
        sent = answer[a:b]
        lang = detect_lang(sent)
        toks = _content_tokens(sent, lang)
        if len(toks) < min_tokens:
            continue
        pool = pools.setdefault(lang, set(_content_tokens(ctx, lang)))
        scored += 1
        supported += sum(t in pool for t in toks) / len(toks) >= min_support
    return supported / scored if scored else None


def score_answer(q: Mapping, answer: str | None, citations: Sequence[Any] | None = None) -> dict:
    """Per-question answer proxies (no judge): coverage, overlap F1, citation precision."""
    row: dict[str, Any] = {}
    if answer is None:
        return row
    lang = q.get("lang")
    if not is_unanswerable(q):
        row["answer_contains"] = 1.0 if contains(answer, q.get("answer_substring")) else 0.0
        row["answer_coverage"] = substring_coverage(answer, q.get("answer_substring"), lang)
        # Reference answers are written in the question's language; so should the bot's answer be.
        row["answer_f1"] = overlap_f1(answer, q.get("answer"), lang) if q.get("answer") else None
    if citations is not None:
        row["citation_precision"] = citation_precision(citations, q)
        row["citations"] = len(citations)
    return row


# --- one call for a whole run ---------------------------------------------------------------------

RETRIEVAL_METRICS = ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10", "doc_hit@1", "doc_hit@5", "doc_hit@10", "doc_mrr",
                     "prompt_hit", "evidence_hit")
# sees_gold: the gold answer is on the learner's screen, in the evidence shown first or in the answer.
ANSWER_METRICS = ("answer_contains", "sees_gold", "answer_coverage", "answer_f1", "citation_precision", "faithfulness",
                  "faithfulness_proxy", "answer_relevance", "context_hit")


def aggregate(rows: Sequence[Mapping], metrics: Sequence[str] | None = None) -> dict:
    """Mean of every metric over the rows that have it (None = not applicable, skipped)."""
    metrics = metrics or (*RETRIEVAL_METRICS, *ANSWER_METRICS)
    out: dict[str, Any] = {"n": len(rows)}
    for m in metrics:
        vals = [r[m] for r in rows if r.get(m) is not None]
        if vals:
            out[m] = sum(vals) / len(vals)
    return out


def group_by(rows: Sequence[Mapping], field: str, metrics: Sequence[str] | None = None) -> dict[str, dict]:
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(str(r.get(field)), []).append(r)
    return {k: aggregate(v, metrics) for k, v in sorted(groups.items())}


def evaluate(
    questions: Sequence[Mapping],
    outputs: Mapping[str, Mapping | Sequence],
    ks: Sequence[int] = DEFAULT_KS,
    name: str | None = None,
) -> dict:
    """Score one run. ``outputs[qid]`` is either the ranked retrieved list, or a dict with any of
    "retrieved" (ranked list), "answer" (str), "citations" (list), "refused" (bool),
    "n_relevant" (int, for exact nDCG), and any other ANSWER_METRICS the runner scored itself
    ("faithfulness"/"answer_relevance" from a judge, "faithfulness_proxy", "context_hit", "prompt_hit"; 0..1).

    Returns {"name", "overall", "by_lang", "by_kind", "refusal", "rows", "missing"}: retrieval
    metrics cover answerable questions only; unanswerable ones count toward refusal accuracy.
    """
    rows: list[dict] = []
    missing: list[str] = []
    refused: dict[str, bool | None] = {}
    for q in questions:
        qid = q.get("id")
        out = outputs.get(qid)
        if out is None:
            missing.append(qid)
            continue
        if not isinstance(out, Mapping):
            out = {"retrieved": out}
        row = score_retrieval(q, out.get("retrieved") or [], ks, out.get("n_relevant")) if "retrieved" in out else _row_head(q)
        row.update(score_answer(q, out.get("answer"), out.get("citations")))
        for key in (*ANSWER_METRICS, "prompt_hit", "evidence_hit"):  # scored by the runner (judge, proxies, what was shown)
            if key not in row and out.get(key) is not None:
                row[key] = out[key]
        if out.get("refused") is not None:
            row["refused"] = bool(out["refused"])
            refused[qid] = bool(out["refused"])
        rows.append(row)
    scored = [r for r in rows if not r["unanswerable"]]
    return {
        "name": name,
        "n_questions": len(questions),
        "overall": aggregate(scored),
        "by_lang": group_by(scored, "lang"),
        "by_kind": group_by(scored, "kind"),
        "refusal": refusal_accuracy(questions, refused) if refused else None,
        "rows": rows,
        "missing": missing,
    }


# --- judge-based (RAGAS-style) --------------------------------------------------------------------

Judge = Callable[[str], str]

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def _extract_json(raw: str) -> Any:
    """First JSON value in a judge reply, tolerating code fences and chatter around it."""
    m = _FENCE.search(raw)
    text = m.group(1) if m else raw
    # Try each '[' or '{' in order, so an object is not mistaken for the list nested inside it.
    for m in re.finditer(r"[\[{]", text):
        try:
            return json.JSONDecoder().raw_decode(text[m.start():])[0]
        except json.JSONDecodeError:
            continue
    raise ValueError("no JSON in judge reply")


OnFail = Callable[[str], None]


def ask_judge(judge: Judge, prompt: str, parse: Callable[[str], Any], retries: int = 2,
              on_fail: OnFail | None = None) -> Any | None:
    """Call ``judge`` until ``parse`` accepts its reply, at most 1 + ``retries`` times; None on failure,
    after telling ``on_fail`` the last error (so a run can count judge failures apart from abstentions)."""
    err = "no attempt"
    for _ in range(max(0, retries) + 1):
        try:
            return parse(judge(prompt))
        except Exception as e:  # noqa: BLE001 - a judge can fail any way it likes; the metric just abstains
            err = f"{type(e).__name__}: {e}"
    if on_fail is not None:
        on_fail(err)
    return None


STATEMENTS_PROMPT = """Break the ANSWER into short, self-contained factual statements (one claim each, \
resolve pronouns, keep the answer's language). Ignore greetings and statements that only say the \
library cannot answer.
Reply with a JSON list of strings only.

QUESTION: {question}
ANSWER: {answer}
"""

VERDICTS_PROMPT = """For each STATEMENT decide whether it can be directly inferred from the CONTEXT \
(1) or not (0). Judge only against the context, not your own knowledge.
Reply with a JSON list of objects {{"statement": str, "verdict": 0 or 1}}, one per statement, same order.

CONTEXT:
{context}

STATEMENTS:
{statements}
"""

QUESTIONS_PROMPT = """Write {n} different questions that the ANSWER below answers, in the answer's \
language. Also decide whether the answer is noncommittal (evasive, "I don't know", "the library does \
not cover this").
Reply with JSON only: {{"questions": [str, ...], "noncommittal": 0 or 1}}

ANSWER: {answer}
"""


def _parse_statements(raw: str) -> list[str]:
    data = _extract_json(raw)
    if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
        raise ValueError("expected a list of strings")
    return [s.strip() for s in data if s.strip()]


def _verdict_parser(n: int) -> Callable[[str], list[int]]:
    def parse(raw: str) -> list[int]:
        data = _extract_json(raw)
        if not isinstance(data, list) or len(data) != n:
            raise ValueError(f"expected {n} verdicts")
        out = []
        for d in data:
            v = d.get("verdict") if isinstance(d, Mapping) else d
            if str(v).strip() not in ("0", "1"):
                raise ValueError(f"bad verdict {v!r}")
            out.append(int(str(v).strip()))
        return out

    return parse


def faithfulness(
    question: str, answer: str, contexts: Sequence[Any], judge: Judge, retries: int = 2, on_fail: OnFail | None = None
) -> float | None:
    """RAGAS faithfulness: share of the answer's claims supported by the retrieved contexts.

    Two judge calls: split the answer into statements, then a verdict per statement against the
    contexts. None when the judge fails or the answer makes no claims (e.g. a refusal).
    """
    stmts = ask_judge(judge, STATEMENTS_PROMPT.format(question=question, answer=answer), _parse_statements, retries,
                      on_fail)
    if not stmts:
        return None
    # The contexts are library text: a document must not be able to instruct the judge either.
    ctx = "\n\n".join(guard_passage(str(_field(c, "text") or c), "en") for c in contexts)
    listing = "\n".join(f"{i}. {s}" for i, s in enumerate(stmts, 1))
    verdicts = ask_judge(judge, VERDICTS_PROMPT.format(context=ctx, statements=listing), _verdict_parser(len(stmts)),
                         retries, on_fail)
    if verdicts is None:
        return None
    return sum(verdicts) / len(verdicts)


def _parse_questions(raw: str) -> tuple[list[str], bool]:
    data = _extract_json(raw)
    if not isinstance(data, Mapping) or not isinstance(data.get("questions"), list):
        raise ValueError("expected {questions, noncommittal}")
    qs = [q.strip() for q in data["questions"] if isinstance(q, str) and q.strip()]
    if not qs:
        raise ValueError("no questions")
    return qs, str(data.get("noncommittal", 0)).strip() in ("1", "true", "True")


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def answer_relevance(
    question: str,
    answer: str,
    judge: Judge,
    embed: Callable[[list[str]], Sequence[Sequence[float]]] | None = None,
    n: int = 3,
    retries: int = 2,
    on_fail: OnFail | None = None,
) -> float | None:
    """RAGAS answer relevance: how well questions regenerated from the answer match the original.

    The judge writes ``n`` questions the answer would answer; the score is their mean cosine
    similarity to the real question under ``embed`` (texts -> vectors), or token-overlap F1 when no
    embedder is given. A noncommittal answer scores 0. None when the judge fails.
    """
    got = ask_judge(judge, QUESTIONS_PROMPT.format(n=n, answer=answer), _parse_questions, retries, on_fail)
    if got is None:
        return None
    gen, noncommittal = got
    if noncommittal:
        return 0.0
    if embed is not None:
        vecs = embed([question, *gen])
        sims = [_cosine(vecs[0], v) for v in vecs[1:]]
    else:
        sims = [overlap_f1(g, question) for g in gen]
    return sum(sims) / len(sims)
