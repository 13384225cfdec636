"""Integrity of the held-out eval sets (evals/datasets/heldout_dev.jsonl, heldout_test.jsonl).

Checks every question against the real library: ../shared/corpus plus the seeds (indexed as
knowledge/seeds/<name>). Skips cleanly when ../shared is absent (e.g. on a user's machine).

What is checked (see evals/datasets/HELDOUT.md):
* valid JSON with the README fields, known `lang`/`kind`, `ho-` ids unique across all eval sets;
* `source` matches exactly one library file on a path-component boundary;
* `answer_substring` is one line of 5-25 characters (5-40 without CJK) and occurs in that file's text after the README
  normalisation (NFKC, casefold, no whitespace, `*` or backticks). PDF text is what the project's
  PDF loader extracts (pypdf; pdfminer.six only for the pages pypdf reads as glyph soup), computed
  once per test run;
* unanswerable questions have null source/substring and `unanswerable: true`; follow-ups carry a
  one-exchange `history`;
* no question text is copied from dev.jsonl, none is repeated, and the split is the documented one.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path

import pytest

from bot.core.text import has_cjk

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"
SEEDS = SHARED / "seeds"
DATASETS = ROOT / "evals" / "datasets"
HELDOUT = ("heldout_dev.jsonl", "heldout_test.jsonl")
OTHER_SETS = ("dev.jsonl", "ci.jsonl", "refusal_holdout.jsonl")

FIELDS = ("id", "question", "lang", "kind", "source", "answer_substring", "answer")
KINDS = {"fact", "concept", "plan", "crosslingual", "followup", "unanswerable", "newsletter"}
LANGS = {"zh", "en"}
_WS = re.compile(r"\s+")
_MARKUP = re.compile(r"[*`]")
_ID = re.compile(r"^ho-([a-z]+)-(\d{3})$")


def normalize(text: str | None) -> str:
    """The README's comparison form (same as evals.metrics.normalize_text)."""
    t = unicodedata.normalize("NFKC", text or "").casefold()
    return _MARKUP.sub("", _WS.sub("", t))


def path_matches(path: str, source: str) -> bool:
    p, s = path.replace("\\", "/"), source.replace("\\", "/").lstrip("/")
    return p == s or p.endswith("/" + s)


def library_files() -> list[str]:
    """Index-style paths: corpus files under corpus/..., seeds as knowledge/seeds/<name>."""
    files = [str(p) for p in CORPUS.rglob("*") if p.is_file()]
    files += [f"/knowledge/seeds/{p.name}" for p in SEEDS.iterdir() if p.is_file()]
    return files


def _real_path(path: str) -> Path:
    if path.startswith("/knowledge/seeds/"):
        return SEEDS / path.rsplit("/", 1)[1]
    return Path(path)


@lru_cache(maxsize=None)
def file_text(path: str) -> str:
    real = _real_path(path)
    if real.suffix.lower() == ".pdf":
        from ingest.loaders import pdf  # the project's loader: what the index sees

        return "\n".join(part.text for doc in pdf.load(real) for part in doc.parts)
    return real.read_text(encoding="utf-8", errors="replace")


@lru_cache(maxsize=None)
def normalized_text(path: str) -> str:
    return normalize(file_text(path))


def max_len(sub: str) -> int:
    """A few words: 25 characters when the substring has CJK, 40 for Latin-script text (whose words are longer)."""
    return 25 if has_cjk(sub) else 40


def area_of(q: dict) -> str:
    return _ID.match(q["id"]).group(1)


def split_of(questions: list[dict]) -> dict[str, str]:
    """The documented split: group by (area, kind); in each group sort by sha256(id) and alternate
    dev, test, dev, ... (a group's first question goes to dev)."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for q in questions:
        groups[(area_of(q), q["kind"])].append(q["id"])
    out = {}
    for ids in groups.values():
        for i, qid in enumerate(sorted(ids, key=lambda x: hashlib.sha256(x.encode()).hexdigest())):
            out[qid] = "dev" if i % 2 == 0 else "test"
    return out


def load_jsonl(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise AssertionError(f"{path.name}:{n}: not JSON: {e}") from None
    return rows


def problems_of(questions: list[dict], files: list[str], other_ids: set[str], dev_questions: set[str],
                text_of=None) -> list[str]:
    """Every problem with a list of held-out questions (empty = valid); ``text_of(path)`` gives the
    normalised text of a library file (default: read it from disk)."""
    text_of = text_of or normalized_text
    problems: list[str] = []
    seen_ids: set[str] = set()
    seen_q: set[str] = set()
    for q in questions:
        qid = str(q.get("id"))
        missing = [f for f in FIELDS if f not in q]
        if missing:
            problems.append(f"{qid}: missing fields {missing}")
            continue
        if not _ID.match(qid):
            problems.append(f"{qid}: id must look like ho-<area>-NNN")
        if qid in seen_ids or qid in other_ids:
            problems.append(f"{qid}: duplicate id")
        seen_ids.add(qid)
        text = str(q["question"]).strip()
        if not text or not str(q["answer"]).strip():
            problems.append(f"{qid}: empty question or answer")
        if normalize(text) in dev_questions:
            problems.append(f"{qid}: question copied from dev.jsonl")
        if normalize(text) in seen_q:
            problems.append(f"{qid}: question repeated")
        seen_q.add(normalize(text))
        if q["lang"] not in LANGS:
            problems.append(f"{qid}: lang {q['lang']!r}")
        if q["kind"] not in KINDS:
            problems.append(f"{qid}: kind {q['kind']!r}")
        hist = q.get("history")
        if q["kind"] == "followup":
            if not (isinstance(hist, list) and len(hist) == 2 and [m.get("role") for m in hist] == ["user", "assistant"]
                    and all(isinstance(m.get("content"), str) and m["content"].strip() for m in hist)):
                problems.append(f"{qid}: a follow-up needs history = [user, assistant] turns")
        elif hist is not None:
            problems.append(f"{qid}: history on a non-follow-up question")
        if q["kind"] == "unanswerable" or q.get("unanswerable"):
            if not (q["kind"] == "unanswerable" and q.get("unanswerable") is True
                    and q["source"] is None and q["answer_substring"] is None):
                problems.append(f"{qid}: unanswerable needs kind=unanswerable, unanswerable=true, null source/substring")
            continue
        src, sub = q["source"], q["answer_substring"]
        if not isinstance(src, str) or not src:
            problems.append(f"{qid}: answerable question without a source")
            continue
        if not isinstance(sub, str) or "\n" in sub or sub != sub.strip() or not 5 <= len(sub) <= max_len(sub):
            problems.append(f"{qid}: answer_substring must be one trimmed line of 5-{max_len(str(sub))} characters: {sub!r}")
            continue
        hits = [f for f in files if path_matches(f, src)]
        if len(hits) != 1:
            problems.append(f"{qid}: source {src!r} matches {len(hits)} files")
            continue
        if normalize(sub) not in text_of(hits[0]):
            problems.append(f"{qid}: answer_substring {sub!r} not in {src}")
    return problems


needs_shared = pytest.mark.skipif(not CORPUS.is_dir() or not SEEDS.is_dir(),
                                  reason=f"{SHARED} (corpus + seeds) is absent")


def _all_heldout() -> dict[str, list[dict]]:
    return {name: load_jsonl(DATASETS / name) for name in HELDOUT}


def _context() -> tuple[set[str], set[str]]:
    other_ids: set[str] = set()
    dev_q: set[str] = set()
    for name in OTHER_SETS:
        path = DATASETS / name
        if path.exists():
            rows = load_jsonl(path)
            other_ids |= {str(r.get("id")) for r in rows}
            if name == "dev.jsonl":
                dev_q |= {normalize(r.get("question")) for r in rows}
    return other_ids, dev_q


def test_validator_catches_bad_questions():
    """The checks must be able to fail (no library needed: a fake file list and text)."""
    files = ["/c/docs/a/cot.en.mdx", "/c/docs/a/auto_cot.en.mdx", "/c/docs/b/cot.en.mdx"]
    good = {"id": "ho-x-001", "question": "q?", "lang": "en", "kind": "fact", "source": "a/cot.en.mdx",
            "answer_substring": "think step", "answer": "a"}
    text_of = lambda path: normalize("Let's **think** step by step")  # noqa: E731
    assert problems_of([good], files, set(), set(), text_of) == []
    bad = [
        {**good, "id": "ho-x-002", "source": "cot.en.mdx"},  # two files match
        {**good, "id": "ho-x-003", "answer_substring": "not there at all"},
        {**good, "id": "ho-x-004", "answer_substring": "a\nb c d e"},
        {**good, "id": "ho-x-005", "kind": "unanswerable", "unanswerable": True},  # keeps a source
        {**good, "id": "dev-01"},
        {**good, "id": "ho-x-006", "kind": "followup"},  # no history
        {**good, "id": "ho-x-007", "question": "Copied?"},
        {**good, "id": "ho-x-008", "source": "nowhere/cot.en.mdx"},
    ]
    found = problems_of(bad + [dict(bad[1])], files, {"dev-01"}, {normalize("copied?")}, text_of)
    for qid in ("ho-x-002", "ho-x-003", "ho-x-004", "ho-x-005", "dev-01", "ho-x-006", "ho-x-007", "ho-x-008"):
        assert any(p.startswith(qid + ":") for p in found), (qid, found)
    assert any("duplicate id" in p for p in found)


@needs_shared
def test_heldout_sets_are_valid():
    sets = _all_heldout()
    questions = [q for rows in sets.values() for q in rows]
    other_ids, dev_q = _context()
    problems = problems_of(questions, library_files(), other_ids, dev_q)
    assert not problems, "\n".join(problems[:50])


def test_heldout_split_and_mix():
    """Split rule and the target mix; needs only the jsonl files."""
    sets = _all_heldout()
    questions = [q for rows in sets.values() for q in rows]
    assert len(questions) >= 400
    expected = split_of(questions)
    for name, rows in sets.items():
        want = "dev" if name == "heldout_dev.jsonl" else "test"
        wrong = [q["id"] for q in rows if expected[q["id"]] != want]
        assert not wrong, f"{name}: not in its split: {wrong[:10]}"
    kinds = Counter(q["kind"] for q in questions)
    assert kinds["crosslingual"] >= 80 and kinds["followup"] >= 25 and kinds["unanswerable"] >= 30
    xl = Counter(q["lang"] for q in questions if q["kind"] == "crosslingual")
    assert xl["zh"] >= 20 and xl["en"] >= 20, xl
    un = Counter(q["lang"] for q in questions if q["kind"] == "unanswerable")
    assert un["zh"] >= 10 and un["en"] >= 10, un
    zh = sum(q["lang"] == "zh" for q in questions) / len(questions)
    assert 0.45 <= zh <= 0.65, zh
    n_dev, n_test = len(sets["heldout_dev.jsonl"]), len(sets["heldout_test.jsonl"])
    assert abs(n_dev - n_test) <= 0.1 * (n_dev + n_test)
