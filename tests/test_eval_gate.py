"""The CI retrieval gate and configuration comparison, on a real index (seeds, plus the CI corpus
sample when ../shared is present): `studybot-eval --gate` must pass on main and must be able to fail."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, SHARED, make_settings

DATASETS = ROOT / "evals" / "datasets"
THRESHOLDS = ROOT / "evals" / "thresholds.json"

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def ci_index(tmp_path_factory):
    from evals.metrics import load_sample_list
    from ingest.pipeline import ingest

    base = tmp_path_factory.mktemp("ciindex")
    lib = base / "library"
    shutil.copytree(SEEDS, lib / "seeds")
    shutil.copy(ROOT / "knowledge" / "sources.yaml", lib / "sources.yaml")  # the seeds' titles, as in make run
    corpus = SHARED / "corpus"
    if corpus.is_dir():
        for rel in load_sample_list(DATASETS / "ci_sample.txt"):
            dst = lib / "corpus" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(corpus / rel, dst)
    settings = make_settings(lib, base / "index", llm="none")
    rep = ingest(None, settings)
    assert not rep.failed, rep.failed
    return settings


def _eval(settings, *extra):
    env = {**os.environ, "STUDYBOT_LIBRARY_DIR": str(settings.library_dir)}
    return subprocess.run([sys.executable, "-m", "evals.cli", "--index-dir", str(settings.index_dir),
                           "--llm", "none", *extra], capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)


def test_retrieval_gate_passes_on_ci_set(ci_index):
    p = _eval(ci_index, "--dataset", str(DATASETS / "ci.jsonl"), "--gate", str(THRESHOLDS), "--json")
    assert p.returncode == 0, p.stderr + p.stdout[-2000:]
    result = json.loads(p.stdout)
    wanted = json.loads(THRESHOLDS.read_text())["ci.jsonl"]
    assert result["overall"]["n"] >= wanted["min_questions"]
    assert result["overall"]["hit@5"] >= wanted["hit@5"]


def test_retrieval_gate_fails_below_threshold(ci_index, tmp_path):
    strict = tmp_path / "t.json"
    strict.write_text(json.dumps({"ci.jsonl": {"min_questions": 1, "mrr": 1.01}}))
    p = _eval(ci_index, "--dataset", str(DATASETS / "ci.jsonl"), "--gate", str(strict))
    assert p.returncode == 1
    assert "GATE FAILED: mrr" in p.stderr


def test_compare_against_langchain_baseline_writes_report(ci_index, tmp_path):
    p = _eval(ci_index, "--dataset", str(DATASETS / "ci.jsonl"), "--compare", "hybrid", "bm25", "baseline",
              "--report", str(tmp_path / "rep"), "--json")
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    assert set(res) == {"hybrid", "bm25", "baseline"}
    n = res["hybrid"]["overall"]["n"]
    assert n and res["baseline"]["overall"]["n"] == n  # same questions for every configuration
    # The product must beat the tutorial recipe it is measured against.
    print({c: round(r["overall"]["mrr"], 3) for c, r in res.items()})
    assert res["hybrid"]["overall"]["mrr"] > res["baseline"]["overall"]["mrr"]
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "baseline" in md and "hybrid" in md
    assert "<svg" in (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")


def check_tutorial_chunks(baseline) -> None:
    """The baseline holds, for a text file, exactly the chunks the tutorial's recipe cuts from it:
    TextLoader (the raw file) then RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    stored = baseline._store.get(include=["documents", "metadatas"])
    by_path: dict[str, list[str]] = {}
    for text, meta in zip(stored["documents"], stored["metadatas"]):
        by_path.setdefault(meta["path"], []).append(text)
    txt = sorted(p for p in by_path if p.endswith(".txt"))
    assert txt, "no text file in the baseline"
    tutorial = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    for path in txt:
        raw = Path(path).read_bytes().decode("utf-8", errors="replace")
        assert sorted(by_path[path]) == sorted(tutorial.split_text(raw)), path


def test_baseline_is_langchain_recipe(ci_index):
    from bot.service import StudyBot
    from evals.baseline import LangChainBaseline

    bot = StudyBot(ci_index)
    b = LangChainBaseline(bot.index)
    n = b.build()
    assert n > 0
    assert b.build() == n  # unchanged files: the cached baseline is reused
    hits = b.search("什么是杠铃阅读法？", 5)
    assert len(hits) == 5 and all(Path(h["path"]).exists() for h in hits)
    check_tutorial_chunks(b)


def test_chunk_size_configurations_index_the_same_files_in_a_kept_sibling(ci_index):
    from bot.service import StudyBot
    from evals.run import compare, runnable

    bot = StudyBot(ci_index)
    assert runnable(bot, ["hybrid", "chunks:50", "chunks:300"]) == ["hybrid", "chunks:300"]
    res = compare(bot, DATASETS / "ci.jsonl", ["hybrid", "chunks:300"])
    assert res["chunks:300"]["overall"]["n"] == res["hybrid"]["overall"]["n"] > 0
    assert res["chunks:300"]["overall"]["hit@10"] > 0
    variant = StudyBot(ci_index.with_overrides(index_dir=Path(f"{ci_index.index_dir}-chunks300")))
    files = lambda b: sorted(r["path"] for r in b.index.manifest.sources() if r["status"] == "ok")  # noqa: E731
    assert files(variant) == files(bot)
    longest = max(len(c.text) for c in variant.index.manifest.all_chunks())
    default = max(len(c.text) for c in bot.index.manifest.all_chunks())
    assert longest < default
    assert variant.index.status()["vectors_ready"] == 1.0
    gen = variant.index.manifest.generation()
    compare(bot, DATASETS / "ci.jsonl", ["chunks:300"])  # kept: the files are only re-checked
    assert variant.index.manifest.generation() == gen


@pytest.fixture(scope="module")
def heldout_index(tmp_path_factory):
    """The held-out sets' library (the seeds and the whole shared corpus) indexed for keyword search
    only: ~30 s, where embedding it takes hours on two cores."""
    from ingest.pipeline import ingest

    corpus = SHARED / "corpus"
    if not corpus.is_dir():
        pytest.skip("../shared/corpus is not here")
    base = tmp_path_factory.mktemp("heldoutindex")
    lib = base / "library"
    shutil.copytree(SEEDS, lib / "seeds")
    shutil.copy(ROOT / "knowledge" / "sources.yaml", lib / "sources.yaml")
    shutil.copytree(corpus, lib / "corpus")
    settings = make_settings(lib, base / "index", llm="none")
    rep = ingest(None, settings, embed=False)
    assert rep.indexed > 1000, rep
    return settings


@pytest.mark.parametrize("split", ["heldout_dev.jsonl", "heldout_test.jsonl"])
def test_retrieval_gate_on_the_held_out_questions_over_the_whole_corpus(heldout_index, split):
    p = _eval(heldout_index, "--dataset", str(DATASETS / split), "--gate", str(THRESHOLDS), "--json")
    assert p.returncode == 0, p.stderr[-3000:]
    result = json.loads(p.stdout)
    print(split, {k: round(result["overall"][k], 3) for k in ("n", "hit@5", "mrr")})
    assert result["overall"]["n"] >= json.loads(THRESHOLDS.read_text())[split]["min_questions"]
