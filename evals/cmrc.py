"""CMRC 2018 (Chinese machine reading comprehension, SQuAD format) as a retrieval benchmark.

Each question was written against one Wikipedia paragraph, so "did retrieval return that
paragraph" is an answer-free measure of Chinese retrieval on a corpus nobody on this project wrote.
The trial set has 256 paragraphs and 1002 questions.

Typical use::

    paragraphs, questions = load_cmrc(path)
    write_paragraph_files(paragraphs, tmp_dir)          # then ingest tmp_dir as a library
    ranked = {q["id"]: paragraph_ids(retriever.search(q["question"], k=10)) for q in questions}
    recall_at(ranked, questions, ks=(1, 5))
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

_UNSAFE = re.compile(r"[^\w.\-]+")


def load_cmrc(path: str | Path) -> tuple[list[dict], list[dict]]:
    """Paragraphs [{"id","title","text"}] and questions [{"id","question","paragraph_id","answers"}].

    ``answers`` keeps the gold spans as [{"text", "answer_start"}].
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    articles = data["data"] if isinstance(data, Mapping) else data
    paragraphs: list[dict] = []
    questions: list[dict] = []
    seen: set[str] = set()
    for art in articles:
        title = str(art.get("title") or "").strip()
        for i, para in enumerate(art.get("paragraphs") or []):
            # Trial paragraphs carry their own id; fall back to article id + position for other splits.
            pid = str(para.get("id") or f"{art.get('id', 'P')}_{i}")
            if pid in seen:
                pid = f"{pid}_{i}"
            seen.add(pid)
            paragraphs.append({"id": pid, "title": title, "text": para.get("context", "")})
            for qa in para.get("qas") or []:
                questions.append(
                    {
                        "id": str(qa["id"]),
                        "question": qa["question"],
                        "paragraph_id": pid,
                        "answers": [
                            {"text": a.get("text", ""), "answer_start": a.get("answer_start")}
                            for a in qa.get("answers") or []
                        ],
                    }
                )
    return paragraphs, questions


def paragraph_filename(pid: str) -> str:
    return _UNSAFE.sub("_", pid) + ".txt"


def write_paragraph_files(paragraphs: Iterable[Mapping], out_dir: str | Path) -> list[Path]:
    """One small UTF-8 text file per paragraph (``<id>.txt``, first line the title) so the normal
    ingest path indexes them; returns the paths written. Existing identical files are left alone so
    the incremental ingest sees no change on a re-run."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for p in paragraphs:
        path = out / paragraph_filename(str(p["id"]))
        body = f"{p.get('title') or ''}\n{p['text'].strip()}\n"
        if not path.exists() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")
        written.append(path)
    return written


def paragraph_id_of(path: str | Path) -> str:
    """The paragraph id behind an indexed file path (inverse of :func:`paragraph_filename`)."""
    return Path(str(path).replace("\\", "/")).stem


def paragraph_ids(hits: Sequence[Any]) -> list[str]:
    """Ranked, de-duplicated paragraph ids from retrieved items (dicts with "path", or Hit-likes).

    A paragraph split into several chunks counts once, at the rank of its best chunk."""
    out: list[str] = []
    for h in hits:
        if isinstance(h, Mapping):
            path = h.get("path") or (h.get("chunk") or {}).get("path")
        else:
            path = getattr(h, "path", None) or getattr(getattr(h, "chunk", None), "path", None)
        pid = paragraph_id_of(path or "")
        if pid and pid not in out:
            out.append(pid)
    return out


def recall_at(
    ranked_paragraph_ids_per_question: Mapping[str, Sequence[str]] | Sequence[Sequence[str]],
    questions: Sequence[Mapping],
    ks: Sequence[int] = (1, 5),
) -> dict:
    """Share of questions whose paragraph is in the top k, plus MRR@max(ks).

    Rankings are keyed by question id, or a list aligned with ``questions``. Questions without a
    ranking count as misses (reported in ``missing``) rather than being dropped.
    """
    if isinstance(ranked_paragraph_ids_per_question, Mapping):
        lookup = lambda i, q: ranked_paragraph_ids_per_question.get(q["id"])  # noqa: E731
    else:
        seq = list(ranked_paragraph_ids_per_question)
        if len(seq) != len(questions):
            raise ValueError(f"{len(seq)} rankings for {len(questions)} questions")
        lookup = lambda i, q: seq[i]  # noqa: E731
    kmax = max(ks)
    hits = {k: 0 for k in ks}
    rr = 0.0
    missing = 0
    for i, q in enumerate(questions):
        ranked = lookup(i, q)
        if ranked is None:
            missing += 1
            continue
        ranked = list(ranked)
        pos = ranked.index(q["paragraph_id"]) + 1 if q["paragraph_id"] in ranked else None
        for k in ks:
            hits[k] += pos is not None and pos <= k
        if pos is not None and pos <= kmax:
            rr += 1.0 / pos
    n = len(questions)
    out: dict[str, Any] = {f"recall@{k}": (hits[k] / n if n else 0.0) for k in ks}
    out[f"mrr@{kmax}"] = rr / n if n else 0.0
    out["n"] = n
    out["missing"] = missing
    return out


def run_cmrc(settings: Any, path: str | Path, configs: Sequence[str] = ("hybrid",), ks: Sequence[int] = (1, 5),
             limit: int | None = None, progress: Any = None) -> dict[str, dict]:
    """Index the trial paragraphs (one file each, in ``settings.index_dir``'s sibling library) and
    report recall@k per retrieval configuration. Re-running reuses the index (nothing changed)."""
    from bot.service import StudyBot
    from evals.run import runnable, searcher
    from ingest.pipeline import ingest

    paragraphs, questions = load_cmrc(path)
    library = Path(settings.index_dir) / "cmrc_paragraphs"
    write_paragraph_files(paragraphs, library)
    s = settings.with_overrides(library_dir=library)
    bot = StudyBot(s)
    ingest([library], s, progress=progress, index=bot.index)
    questions = questions[:limit] if limit else questions
    out: dict[str, dict] = {}
    for c in runnable(bot, configs):
        search = searcher(bot, c)
        ranked = {q["id"]: paragraph_ids(search(q["question"], 10, [])) for q in questions}
        out[c] = recall_at(ranked, questions, ks)
    return out
