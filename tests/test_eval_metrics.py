"""Eval metrics on hand-made rankings with known answers, report rendering, dataset integrity, CMRC."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from bot.core.text import has_cjk
from evals import cmrc, metrics as M, report

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "evals" / "datasets"
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
CMRC_TRIAL = SHARED / "benchmarks" / "cmrc2018" / "cmrc2018_trial.json"
SEEDS = sorted((ROOT / "knowledge").rglob("*.txt"))

needs_shared = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")


def item(path: str, text: str = "") -> dict:
    return {"path": path, "text": text}


GOLD = {"id": "q", "lang": "zh", "kind": "fact", "source": "seeds/000_x.txt", "answer_substring": "节约75%"}


# --- matching and ranks ---------------------------------------------------------------------------


def test_path_matches_on_component_boundary():
    assert M.path_matches("/lib/prompt-engineering-guide/pages/techniques/cot.en.mdx", "techniques/cot.en.mdx")
    assert M.path_matches("techniques/cot.en.mdx", "techniques/cot.en.mdx")
    assert M.path_matches(r"C:\lib\techniques\cot.en.mdx", "techniques/cot.en.mdx")
    assert not M.path_matches("/lib/techniques/auto_cot.en.mdx", "cot.en.mdx")
    assert not M.path_matches("/lib/techniques/cot.zh.mdx", "cot.en.mdx")
    assert not M.path_matches("/lib/x.txt", None)


def test_substring_match_ignores_whitespace_width_case_and_emphasis():
    assert M.contains("自建微调模型：$0.005/千token（节约 75%）", "节约75%")
    assert M.contains("**能够提高 0.5-1.0 分的分数**", "提高 0.5-1.0 分")
    assert M.contains("Alter Temperature or\nTop P but not both", "alter temperature or Top P")
    assert M.contains("工具掌握期(1-3个月)", "工具掌握期（1-3个月）")  # NFKC folds full-width brackets
    assert not M.contains("节约70%", "节约75%")
    assert not M.contains("anything", "")


def test_first_relevant_rank_passage_vs_doc_level():
    ranked = [
        item("/k/seeds/001_y.txt", "节约75%"),  # right text, wrong document
        item("/k/seeds/000_x.txt", "别的内容"),  # right document, wrong chunk
        item("/k/seeds/000_x.txt", "自建微调模型：节约75%"),
    ]
    assert M.first_relevant_rank(ranked, GOLD) == 3
    assert M.first_relevant_rank(ranked, GOLD, level="doc") == 2
    assert M.first_relevant_rank([], GOLD) is None
    # Without a substring any chunk of the gold document is relevant.
    assert M.first_relevant_rank(ranked, {**GOLD, "answer_substring": None}) == 2


def test_items_may_be_objects_or_hit_like():
    class Chunk:
        def __init__(self, path, text):
            self.path, self.text = path, text

    class Hit:
        def __init__(self, chunk):
            self.chunk = chunk

    assert M.is_relevant(Chunk("/a/seeds/000_x.txt", "节约75%"), GOLD)
    assert M.is_relevant(Hit(Chunk("/a/seeds/000_x.txt", "节约75%")), GOLD)
    assert M.is_relevant({"chunk": {"path": "/a/seeds/000_x.txt", "text": "节约75%"}}, GOLD)


def test_prompt_hit_counts_only_what_survives_the_clip():
    filler = "。".join(f"第{i}段讲的是别的事情和无关的内容" for i in range(40))
    long = filler + "。自建微调模型推理成本节约75%。" + filler
    gold = item("/lib/seeds/000_x.txt", long)
    # The clip keeps the stretch that matches the question: the answer is in it, or not.
    assert M.prompt_hit(GOLD, [gold], "推理成本节约多少", 600, 4) == 1.0
    assert M.prompt_hit(GOLD, [gold], "第3段讲的是什么", 600, 4) == 0.0
    assert M.hit_at(M.first_relevant_rank([gold], GOLD), 1) == 1.0  # hit@k cannot tell the two apart
    # Beyond the passages the model reads, from another file, or unanswerable: no hit / not scored.
    others = [item("/lib/other.txt", "无关") for _ in range(4)]
    assert M.prompt_hit(GOLD, [*others, gold], "推理成本节约多少", 600, 4) == 0.0
    assert M.prompt_hit(GOLD, [item("/lib/other.txt", long)], "推理成本节约多少", 600, 4) == 0.0
    assert M.prompt_hit({**GOLD, "unanswerable": True}, [gold], "推理成本", 600, 4) is None


def test_mrr_and_hits_on_known_ranks():
    assert M.mrr([1, 2, None]) == pytest.approx((1 + 0.5 + 0) / 3)
    assert M.mrr([11], k=10) == 0.0
    assert M.mrr([]) == 0.0
    assert [M.hit_at(r, 5) for r in (1, 5, 6, None)] == [1.0, 1.0, 0.0, 0.0]


def test_ndcg_binary_counts_every_relevant_chunk():
    assert M.ndcg_at([True, False, False]) == 1.0
    assert M.ndcg_at([False, False]) == 0.0
    rels = [False, True, False, True]
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert M.ndcg_at(rels) == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    # With the corpus-wide count known, missed relevant chunks lower the score.
    assert M.ndcg_at(rels, n_relevant=3) == pytest.approx(dcg / (1 + 1 / math.log2(3) + 0.5))
    assert M.ndcg_at([False] * 10 + [True], k=10) == 0.0


# --- a whole run ----------------------------------------------------------------------------------

QS = [
    {"id": "a", "lang": "zh", "kind": "fact", "source": "s/a.txt", "answer_substring": "甲", "answer": "答案是甲。"},
    {"id": "b", "lang": "zh", "kind": "concept", "source": "s/b.txt", "answer_substring": "乙", "answer": "乙"},
    {"id": "c", "lang": "en", "kind": "fact", "source": "s/c.md", "answer_substring": "gamma", "answer": "It is gamma."},
    {"id": "d", "lang": "en", "kind": "crosslingual", "source": "s/a.txt", "answer_substring": "甲", "answer": "Jia."},
    {"id": "u", "lang": "zh", "kind": "unanswerable", "source": None, "answer_substring": None,
     "answer": "无法回答", "unanswerable": True},
]
OUTS = {
    "a": [item("/x/s/a.txt", "这里是甲")],  # rank 1
    "b": [item("/x/s/a.txt", "甲"), item("/x/s/b.txt", "乙在此")],  # rank 2
    "c": [item("/x/s/c.md", "alpha")] + [item(f"/x/o{i}.md", "gamma") for i in range(12)],  # doc 1, passage miss
    "d": [item(f"/x/o{i}.md", "") for i in range(9)] + [item("/x/s/a.txt", "甲")],  # rank 10
    "u": [item("/x/s/a.txt", "甲")],
}


def test_evaluate_overall_and_groups():
    res = M.evaluate(QS, OUTS, name="toy")
    o = res["overall"]
    assert o["n"] == 4  # the unanswerable question is excluded
    assert o["hit@1"] == pytest.approx(1 / 4)
    assert o["hit@5"] == pytest.approx(2 / 4)
    assert o["hit@10"] == pytest.approx(3 / 4)
    assert o["mrr"] == pytest.approx((1 + 0.5 + 0 + 0.1) / 4)
    assert o["doc_hit@1"] == pytest.approx(2 / 4)
    assert res["by_lang"]["zh"]["mrr"] == pytest.approx(0.75)
    assert res["by_lang"]["en"]["mrr"] == pytest.approx(0.05)
    assert set(res["by_kind"]) == {"fact", "concept", "crosslingual"}
    assert res["by_kind"]["fact"]["hit@1"] == pytest.approx(0.5)
    rows = {r["id"]: r for r in res["rows"]}
    assert rows["c"]["rank"] is None and rows["c"]["doc_rank"] == 1
    assert rows["u"]["unanswerable"] and "rank" not in rows["u"]
    assert res["missing"] == []


def test_evaluate_reports_missing_and_accepts_dict_outputs():
    res = M.evaluate(QS, {"a": {"retrieved": OUTS["a"], "answer": "是甲", "refused": False},
                          "u": {"retrieved": [], "refused": True}})
    assert res["missing"] == ["b", "c", "d"]
    assert res["overall"]["answer_contains"] == 1.0
    assert res["refusal"]["accuracy"] == 1.0 and res["refusal"]["false_refusal_rate"] == 0.0


def test_refusal_accuracy():
    refused = {"a": False, "b": True, "c": False, "d": False, "u": True}
    r = M.refusal_accuracy(QS, refused)
    assert r["accuracy"] == 1.0
    assert r["false_refusal_rate"] == pytest.approx(1 / 4)
    assert r["balanced"] == pytest.approx((1 + 0.75) / 2)
    assert M.refusal_accuracy(QS, {"u": False})["accuracy"] == 0.0
    assert M.refusal_accuracy(QS, {})["accuracy"] is None


def test_citation_precision():
    cites = [item("/x/s/a.txt", "无关"), item("/x/other.txt", "答案是甲"), item("/x/other.txt", "无关")]
    assert M.citation_precision(cites, QS[0]) == pytest.approx(2 / 3)
    assert M.citation_precision([{"path": "/o.txt", "quote": "甲"}], QS[0]) == 1.0
    assert M.citation_precision([], QS[0]) is None
    assert M.citation_precision(cites, QS[4]) is None


def test_answer_proxies():
    assert M.overlap_tokens("杠铃 阅读", "zh") == ["杠铃", "铃阅", "阅读"]
    assert M.overlap_f1("杠铃阅读法", "杠铃阅读法", "zh") == 1.0
    # pred bigrams {杠铃, 铃阅, 阅读}, ref bigrams {杠铃, 铃法}: P=1/3, R=1/2
    assert M.overlap_f1("杠铃阅读", "杠铃法", "zh") == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert M.overlap_f1("The cat sat", "the cat ran", "en") == pytest.approx(2 / 3)
    assert M.overlap_f1("", "x", "en") == 0.0
    assert M.substring_coverage("约节约 75%。", "节约75%") == 1.0
    assert M.substring_coverage("only top p", "alter temperature or top p", "en") == pytest.approx(2 / 5)
    assert M.substring_coverage("x", None) is None
    row = M.score_answer(QS[0], "答案是甲", citations=[item("/x/s/a.txt", "甲")])
    assert row["answer_contains"] == 1.0 and row["citation_precision"] == 1.0 and 0 < row["answer_f1"] <= 1


# --- judge-based metrics --------------------------------------------------------------------------


class ScriptedJudge:
    def __init__(self, *replies):
        self.replies = list(replies)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        r = self.replies.pop(0) if self.replies else "no more"
        if isinstance(r, Exception):
            raise r
        return r


def test_faithfulness_with_scripted_judge():
    judge = ScriptedJudge(
        '```json\n["杠铃阅读法只读两端", "它是爱因斯坦发明的"]\n```',
        'Sure: [{"statement": "a", "verdict": 1}, {"statement": "b", "verdict": 0}]',
    )
    assert M.faithfulness("什么是杠铃阅读法？", "…", ["只阅读时间线的两端"], judge) == 0.5
    assert "只阅读时间线的两端" in judge.prompts[1]


def test_judge_failures_are_bounded_and_return_none():
    judge = ScriptedJudge(RuntimeError("down"), "not json", "[1, 2")
    assert M.faithfulness("q", "a", ["c"], judge, retries=2) is None
    assert len(judge.prompts) == 3
    # A wrong number of verdicts is retried, then accepted once right.
    judge = ScriptedJudge('["s1", "s2"]', '[{"verdict": 1}]', '[{"verdict": 1}, {"verdict": 1}]')
    assert M.faithfulness("q", "a", ["c"], judge) == 1.0
    assert M.faithfulness("q", "a", ["c"], ScriptedJudge("[]")) is None  # no claims: abstain


def test_answer_relevance():
    judge = ScriptedJudge('{"questions": ["what is the barbell method", "what is the barbell method"], "noncommittal": 0}')
    assert M.answer_relevance("what is the barbell method", "…", judge) == pytest.approx(1.0)
    judge = ScriptedJudge('{"questions": ["x"], "noncommittal": 1}')
    assert M.answer_relevance("q", "I don't know", judge) == 0.0
    judge = ScriptedJudge('{"questions": ["a", "b"], "noncommittal": 0}')
    embed = lambda texts: [[1.0, 0.0] if t in ("q", "a") else [0.0, 1.0] for t in texts]  # noqa: E731
    assert M.answer_relevance("q", "…", judge, embed=embed) == pytest.approx(0.5)
    assert M.answer_relevance("q", "a", ScriptedJudge(), retries=1) is None


# --- report ---------------------------------------------------------------------------------------


def test_report_markdown_and_html():
    res = M.evaluate(QS, {**OUTS, "u": {"retrieved": [], "refused": True}}, name="hybrid")
    md = report.to_markdown(res)
    assert "## By language" in md and "| zh |" in md and "0.250" in md  # hit@1
    html = report.to_html(res)
    assert "<svg" in html and "</html>" in html
    assert "0.400" in html  # overall MRR (1 + .5 + 0 + .1) / 4
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    hist = report.rank_histogram(res["rows"])
    assert hist == {"1": 1, "2": 1, "3": 0, "4-5": 0, "6-10": 1, ">10": 0, "miss": 1}


def test_report_compares_configurations(tmp_path):
    base = M.evaluate(QS, OUTS, name="bm25")
    better = M.evaluate(QS, {**OUTS, "c": [item("/x/s/c.md", "gamma")]}, name="hybrid")
    configs = {"bm25": base, "hybrid": better}
    rows = {r["metric"]: r for r in report.comparison_rows(configs, "bm25")}
    assert rows["hit@1"]["ratios"]["hybrid"] == "×2.00"
    paths = report.write_report(tmp_path, configs=configs, baseline="bm25", title="cmp")
    page = paths["html"].read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "×2.00" in page and "hybrid / bm25" in page
    assert "×2.00" in paths["markdown"].read_text(encoding="utf-8")
    with pytest.raises(KeyError):
        report.to_html(configs=configs, baseline="nope")


# --- datasets -------------------------------------------------------------------------------------


def _render_markdown(raw: str) -> str:
    """Roughly what a Markdown-to-text loader keeps, to prove gold substrings don't span markup."""
    t = re.sub(r"\A---\n.*?\n---\n", "", raw, flags=re.S)  # front matter
    t = re.sub(r"^(import|export) .*$", "", t, flags=re.M)  # MDX
    t = re.sub(r"!\[\[[^\]]*\]\]|!\[[^\]]*\]\([^)]*\)", "", t)  # images
    t = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", t)  # links keep their text
    t = re.sub(r"\[\[[^\]]*\]\]", "", t)  # heading anchors
    t = re.sub(r"<[^>\n]+>", "", t)  # html / jsx tags
    t = re.sub(r"^\s{0,3}(#{1,6}|>)\s?", "", t, flags=re.M)
    return t.replace("**", "").replace("__", "").replace("`", "")


_pdf_text: dict[Path, str] = {}


def _source_text(path: Path) -> str:
    if path.suffix.lower() == ".pdf":
        if path not in _pdf_text:
            from pypdf import PdfReader

            _pdf_text[path] = "\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages)
        return _pdf_text[path]
    return path.read_text(encoding="utf-8")


def _library(sample: str) -> list[Path]:
    return [*SEEDS, *(CORPUS / p for p in M.load_sample_list(DATASETS / sample))]


def _resolve(q: dict, files: list[Path]) -> list[Path]:
    return [f for f in files if M.path_matches(f.as_posix(), q["source"])]


def _is_seed(q: dict) -> bool:
    return bool(q.get("source")) and bool(_resolve(q, SEEDS))


DEV = M.load_questions(DATASETS / "dev.jsonl")
CI = M.load_questions(DATASETS / "ci.jsonl")


@pytest.mark.parametrize("name", ["dev.jsonl", "ci.jsonl"])
def test_dataset_shape(name):
    qs = M.load_questions(DATASETS / name)
    ids = [q["id"] for q in qs]
    assert len(ids) == len(set(ids))
    for q in qs:
        assert q["kind"] in M.KINDS and q["lang"] in M.LANGS, q["id"]
        assert q["question"].strip() and q["answer"].strip(), q["id"]
        if M.is_unanswerable(q):
            assert q.get("unanswerable") is True and q["source"] is None and q["answer_substring"] is None, q["id"]
        else:
            sub = q["answer_substring"]
            assert sub and "\n" not in sub and not re.search(r"[*`\[\]<>|]", sub), q["id"]
        if q["kind"] == "followup":
            assert q.get("history") and all(m["role"] in ("user", "assistant") and m["content"] for m in q["history"])


def test_dev_set_coverage():
    kinds = [q["kind"] for q in DEV]
    assert len(DEV) >= 90
    assert kinds.count("crosslingual") >= 15
    assert kinds.count("followup") >= 8
    assert kinds.count("unanswerable") >= 10
    assert sum(1 for q in DEV if _is_seed(q)) >= 30
    assert {q["lang"] for q in DEV} == {"zh", "en"}
    for q in DEV:  # cross-lingual means the question and its gold document differ in language
        if q["kind"] == "crosslingual" and q["lang"] == "en" and _is_seed(q):
            assert has_cjk(q["answer_substring"]), q["id"]


def test_ci_set_is_a_fixed_subset_of_dev():
    dev = {q["id"]: q for q in DEV}
    assert 25 <= len(CI) <= 40
    for q in CI:
        assert dev.get(q["id"]) == q, f"{q['id']} differs from dev.jsonl"
    assert sum(1 for q in CI if M.is_unanswerable(q)) >= 3


def test_seed_questions_verbatim_in_seeds():
    seed_qs = [q for q in DEV if _is_seed(q)]
    assert seed_qs
    problems = M.validate_questions(seed_qs, [f.as_posix() for f in SEEDS], lambda p: Path(p).read_text(encoding="utf-8"))
    assert problems == []
    for q in seed_qs:
        assert q["answer_substring"] in _render_markdown(_source_text(_resolve(q, SEEDS)[0])), q["id"]


@needs_shared
@pytest.mark.corpus
@pytest.mark.parametrize("name,sample", [("dev.jsonl", "corpus_sample.txt"), ("ci.jsonl", "ci_sample.txt")])
def test_every_source_resolves_once_and_contains_its_substring(name, sample):
    qs = M.load_questions(DATASETS / name)
    files = _library(sample)
    missing = [f for f in files if not f.is_file()]
    assert not missing, missing
    problems = M.validate_questions(qs, [f.as_posix() for f in files], lambda p: _source_text(Path(p)))
    assert problems == []
    for q in qs:
        if M.is_unanswerable(q):
            continue
        path = _resolve(q, files)[0]
        if path.suffix in (".md", ".mdx", ".txt"):
            assert q["answer_substring"] in _render_markdown(_source_text(path)), q["id"]


@needs_shared
@pytest.mark.corpus
def test_corpus_sample_covers_folders_and_stays_small():
    paths = M.load_sample_list(DATASETS / "corpus_sample.txt")
    assert 50 <= len(paths) <= 70 and len(paths) == len(set(paths))
    assert set(M.load_sample_list(DATASETS / "ci_sample.txt")) <= set(paths)
    for folder in ("newsletters/ruanyf-weekly/", "docs/learning-prompt/docs/", "docs/learning-prompt/i18n/",
                   "docs/prompt-engineering-guide/", "docs/hf-course/chapters/en/", "docs/hf-course/chapters/zh-CN/",
                   "papers/"):
        assert any(p.startswith(folder) for p in paths), folder
    assert not any(p.endswith(("long_cot.pdf", "LLM_Survey_Chinese.pdf")) for p in paths)
    text_bytes = sum(len(_source_text(CORPUS / p).encode("utf-8")) for p in paths)
    assert text_bytes < 1_500_000


def _answerable_with_files() -> list[tuple[dict, Path]]:
    files = _library("corpus_sample.txt") if CORPUS.is_dir() else list(SEEDS)
    out = []
    for q in DEV:
        if not M.is_unanswerable(q):
            hits = _resolve(q, files)
            if hits:
                out.append((q, hits[0]))
    return out


def test_gold_substrings_survive_chunking():
    """Each gold substring must sit inside one chunk, or no passage could ever count as relevant."""
    from bot.core.settings import Settings
    from bot.core.types import LoadedDoc, Part
    from ingest import splitter

    size, overlap = Settings.model_fields["chunk_size"].default, Settings.model_fields["chunk_overlap"].default
    for q, path in _answerable_with_files():
        raw = _source_text(path)
        text = raw if path.suffix == ".pdf" else _render_markdown(raw)
        chunks = splitter.split_doc(LoadedDoc(path=str(path), title=path.stem, parts=[Part(text=text)]), "h", size, overlap)
        assert any(M.contains(c.text, q["answer_substring"]) for c in chunks), q["id"]


def test_gold_substrings_survive_the_real_loader():
    """The ingest loaders' text (what actually gets indexed) must still contain every gold substring."""
    from ingest import loaders
    texts: dict[Path, str] = {}
    for q, path in _answerable_with_files():
        if path not in texts:
            texts[path] = "\n".join(d.text for d in loaders.load_path(path))
        assert M.contains(texts[path], q["answer_substring"]), f"{q['id']}: {q['answer_substring']!r} lost by the loader"


def test_unanswerable_questions_have_no_gold():
    un = [q for q in DEV if M.is_unanswerable(q)]
    assert all(q["kind"] == "unanswerable" for q in un)


def test_validate_questions_flags_problems():
    files = ["/k/seeds/a.txt", "/c/x/cot.en.mdx", "/c/x/auto_cot.en.mdx", "/c/y/cot.en.mdx"]
    qs = [
        {"id": "1", "lang": "zh", "kind": "fact", "source": "seeds/a.txt", "answer_substring": "甲"},
        {"id": "1", "lang": "en", "kind": "fact", "source": "cot.en.mdx", "answer_substring": "x"},
        {"id": "3", "lang": "fr", "kind": "fact", "source": "nope.md", "answer_substring": "x"},
        {"id": "4", "lang": "zh", "kind": "unanswerable", "source": None, "answer_substring": None, "unanswerable": True},
    ]
    problems = M.validate_questions(qs, files, lambda p: "乙")
    assert any("duplicate id" in p for p in problems)
    assert any("matches 2 files" in p for p in problems)  # x/ and y/, never auto_cot
    assert any("matches 0 files" in p for p in problems)
    assert any("not in /k/seeds/a.txt" in p for p in problems)
    assert any("lang 'fr'" in p for p in problems)
    assert not any(p.startswith("4:") for p in problems)


# --- CMRC 2018 ------------------------------------------------------------------------------------


@pytest.mark.skipif(not CMRC_TRIAL.is_file(), reason="../shared/benchmarks/cmrc2018 is absent")
@pytest.mark.corpus
def test_cmrc_trial_loads_and_writes(tmp_path):
    paragraphs, questions = cmrc.load_cmrc(CMRC_TRIAL)
    assert len(paragraphs) == 256 and len(questions) == 1002
    pids = {p["id"] for p in paragraphs}
    assert len(pids) == 256 and all(q["paragraph_id"] in pids for q in questions)
    by_id = {p["id"]: p for p in paragraphs}
    q = questions[0]
    assert q["answers"] and q["answers"][0]["text"] in by_id[q["paragraph_id"]]["text"]
    files = cmrc.write_paragraph_files(paragraphs[:3], tmp_path)
    assert [f.name for f in files] == [cmrc.paragraph_filename(p["id"]) for p in paragraphs[:3]]
    first = files[0].read_text(encoding="utf-8").splitlines()
    assert first[0] == paragraphs[0]["title"] and first[1] == paragraphs[0]["text"].strip()
    mtime = files[0].stat().st_mtime_ns
    cmrc.write_paragraph_files(paragraphs[:1], tmp_path)
    assert files[0].stat().st_mtime_ns == mtime  # unchanged files are not rewritten


def test_cmrc_load_and_recall_on_a_tiny_file(tmp_path):
    data = {"version": "v1", "data": [
        {"id": "A", "title": "甲", "paragraphs": [{"id": "A", "context": "甲是第一。", "qas": [
            {"id": "A_Q0", "question": "谁是第一？", "answers": [{"text": "甲", "answer_start": 0}]},
            {"id": "A_Q1", "question": "第一是谁？", "answers": [{"text": "甲", "answer_start": 0}]}]}]},
        {"id": "B", "title": "乙", "paragraphs": [{"id": "B", "context": "乙是第二。", "qas": [
            {"id": "B_Q0", "question": "谁是第二？", "answers": [{"text": "乙", "answer_start": 0}]}]}]},
    ]}
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    paragraphs, questions = cmrc.load_cmrc(path)
    assert paragraphs == [{"id": "A", "title": "甲", "text": "甲是第一。"}, {"id": "B", "title": "乙", "text": "乙是第二。"}]
    assert [q["paragraph_id"] for q in questions] == ["A", "A", "B"]
    ranked = {"A_Q0": ["A", "B"], "A_Q1": ["B", "A"], "B_Q0": ["A"]}
    r = cmrc.recall_at(ranked, questions, ks=(1, 5))
    assert r["recall@1"] == pytest.approx(1 / 3) and r["recall@5"] == pytest.approx(2 / 3)
    assert r["mrr@5"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert cmrc.recall_at([["A"], ["A"], ["B"]], questions)["recall@1"] == 1.0
    assert cmrc.recall_at({}, questions)["missing"] == 3
    hits = [{"path": "/tmp/cmrc/B.txt"}, {"path": "/tmp/cmrc/B.txt"}, {"path": "/tmp/cmrc/A.txt"}]
    assert cmrc.paragraph_ids(hits) == ["B", "A"]
