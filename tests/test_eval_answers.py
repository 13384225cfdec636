"""`studybot-eval --answers`: the chat path over the real seed index, scored; judges on a stub server."""
from __future__ import annotations

import json

import pytest
from conftest import ROOT
from stubs import OpenAIStub

from bot.service import StudyBot
from evals import metrics as M
from evals.answers import (
    answer_summary_lines,
    holds_answer,
    make_judge,
    run_answers,
    run_without_answers,
    stratified_subset,
    without_answer,
    without_answer_lines,
)
from evals.report import to_html, to_markdown

pytestmark = pytest.mark.timeout(180)

BARBELL = {"id": "seed-02", "question": "什么是杠铃阅读法？", "lang": "zh", "kind": "concept",
           "source": "seeds/002_c0490f06c8b4e4df.txt", "answer_substring": "只阅读时间线的两端",
           "answer": "杠铃式阅读法指只读时间线的两端。"}
COOKING = {"id": "un-02", "question": "红烧肉怎么做才好吃？", "lang": "zh", "kind": "unanswerable", "source": None,
           "answer_substring": None, "answer": "资料库没有菜谱。", "unanswerable": True}


def _dev():
    return ROOT / "evals" / "datasets" / "dev.jsonl"


def _dataset(tmp_path, *questions):
    path = tmp_path / "qs.jsonl"
    path.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in questions) + "\n", encoding="utf-8")
    return path


# --- choosing questions ---------------------------------------------------------------------------


def test_stratified_subset_spreads_over_kinds_deterministically():
    qs = [{"id": f"f{i}", "kind": "fact"} for i in range(10)] + [{"id": f"u{i}", "kind": "unanswerable"} for i in range(3)] \
        + [{"id": "p0", "kind": "plan"}]
    picked = stratified_subset(qs, 5)
    assert [q["id"] for q in picked] == [q["id"] for q in stratified_subset(qs, 5)]
    kinds = [q["kind"] for q in picked]
    assert kinds.count("fact") == 2 and kinds.count("unanswerable") == 2 and kinds.count("plan") == 1
    assert [q["id"] for q in picked if q["kind"] == "fact"] == ["f2", "f7"]  # spread, not the first two
    assert stratified_subset(qs, None) == qs and stratified_subset(qs, 99) == qs


# --- LLM-free proxies -----------------------------------------------------------------------------


def test_faithfulness_proxy_counts_supported_sentences():
    ctx = ["杠铃式阅读法：只阅读时间线的两端，一端是经典书籍，另一端是最前沿的研究。"]
    assert M.faithfulness_proxy("杠铃阅读法只阅读时间线的两端。", ctx) == 1.0
    assert M.faithfulness_proxy("杠铃阅读法只阅读时间线的两端。它是爱因斯坦在伯尔尼发明的物理理论。", ctx) == 0.5
    assert M.faithfulness_proxy("红烧肉要先焯水再炒糖色。", ctx) == 0.0
    assert M.faithfulness_proxy("好的。", ctx) is None  # no claim to check


# --- the chat path with the fake LLM ---------------------------------------------------------------


def test_answer_eval_with_fake_llm_over_seed_index(seed_index, tmp_path, components):
    res = run_answers(StudyBot(seed_index, components=components), _dev(), limit=6)
    rows = {r["id"]: r for r in res["rows"]}
    assert len(rows) == 6 and {r["kind"] for r in rows.values()} >= {"fact", "concept", "unanswerable"}
    answerable = [r for r in rows.values() if not r["unanswerable"]]
    for r in answerable:
        # The fake model quotes its prompt's head: no answer, and the local grounding check may say so.
        assert r["status"] in ("ok", "ungrounded") and r["answer"]
        for key in ("answer_coverage", "answer_contains", "citation_precision", "faithfulness_proxy", "context_hit"):
            assert 0.0 <= r[key] <= 1.0, key
        assert r["first_token_ms"] is not None and r["total_ms"] >= r["first_token_ms"]
        assert "faithfulness" not in r and "answer_relevance" not in r  # no judge, no judge metrics
    o = res["overall"]
    assert {"answer_coverage", "citation_precision", "faithfulness_proxy"} <= set(o)
    assert res["refusal"]["n_unanswerable"] >= 1 and res["refusal"]["n_answerable"] == len(answerable)
    assert res["mode"] == "answers" and res["judge"] is None
    assert res["statuses"].get("ok", 0) + res["statuses"].get("ungrounded", 0) >= len(answerable)
    text = "\n".join(answer_summary_lines(res))
    assert "citation precision" in text and "faithfulness(proxy)" in text and "refusal accuracy" in text
    md, page = to_markdown(res), to_html(res)
    assert "## Answers" in md and "faithfulness (proxy)" in md and "## Refusals" in md
    assert "Answer quality by kind" in page and page.count("<svg") == 1


def test_citations_are_checked_against_the_gold(seed_index, tmp_path, components):
    """The same question and answer, scored against a gold its cited passages do not contain: precision 0."""
    wrong = {**BARBELL, "id": "wrong-gold", "source": "seeds/000_96a0a46f97965708.txt", "answer_substring": "$0.005/千token"}
    res = run_answers(StudyBot(seed_index, components=components), _dataset(tmp_path, BARBELL, wrong))
    rows = {r["id"]: r for r in res["rows"]}
    assert rows["seed-02"]["citation_precision"] > 0 and rows["seed-02"]["context_hit"] == 1.0
    assert rows["wrong-gold"]["citation_precision"] == 0.0 and rows["wrong-gold"]["context_hit"] == 0.0


def test_refusal_by_retrieval_counts_as_refused(seed_index, tmp_path, components):
    s = seed_index.with_overrides(relevance_floor=1.01)  # nothing clears the floor: every question is declined
    res = run_answers(StudyBot(s, components=components), _dataset(tmp_path, BARBELL, COOKING))
    rows = {r["id"]: r for r in res["rows"]}
    assert rows["un-02"]["refused"] and rows["seed-02"]["refused"] and rows["seed-02"]["status"] == "not_covered"
    assert res["refusal"]["accuracy"] == 1.0 and res["refusal"]["false_refusal_rate"] == 1.0
    assert rows["seed-02"]["answer_contains"] == 0.0 and "faithfulness_proxy" not in rows["seed-02"]


def test_grounding_warning_is_counted_apart_from_refusals(seed_index, tmp_path, components):
    """A model that answers from its own knowledge: not a refusal, but the learner was warned."""
    near = {**COOKING, "id": "un-near", "question": "杠铃阅读法适合用来读菜谱吗？"}
    recipe = "红烧肉的做法是：先将五花肉切块，用料酒、生抽、老抽、冰糖腌制，然后放入锅中加水，大火烧开后小火慢炖一小时。"
    with OpenAIStub(reply=recipe) as srv:
        s = seed_index.with_overrides(llm="openai", openai_base_url=srv.url + "/v1", openai_model="stub-model")
        res = run_answers(StudyBot(s, components=components), _dataset(tmp_path, near))
    assert res["rows"][0]["status"] == "ungrounded" and not res["rows"][0]["refused"]
    assert res["refusal"]["accuracy"] == 0.0 and res["refusal_or_warning"]["accuracy"] == 1.0
    assert "with the grounding warning 1.000" in "\n".join(answer_summary_lines(res))


# --- negative rejection: the passages that hold the answer removed ---------------------------------


def _hit(path, text="无关的内容"):
    from types import SimpleNamespace

    return SimpleNamespace(chunk=SimpleNamespace(path=path, text=text))


@pytest.mark.parametrize("path, held", [
    ("corpus/docs/hf-course/chapters/en/chapter6/5.mdx", True),  # the gold document
    ("corpus/docs/hf-course/chapters/zh-CN/chapter6/5.mdx", True),  # its other-language version
    ("corpus/docs/hf-course/chapters/zh-CN/chapter6/6.mdx", False),
    ("corpus/docs/hf-course/chapters/en/chapter6/15.mdx", False),
])
def test_a_passage_holds_the_answer_in_its_document_or_twin(path, held):
    q = {"source": "docs/hf-course/chapters/en/chapter6/5.mdx", "answer_substring": "GPT-2, RoBERTa"}
    assert holds_answer(_hit(path), q) is held
    assert holds_answer(_hit("corpus/other.md", "used by GPT-2, RoBERTa and BART"), q)  # says the answer
    peg = {"source": "pages/models/gemma.en.mdx", "answer_substring": "x"}
    assert holds_answer(_hit("docs/peg/pages/models/gemma.zh.mdx"), peg)
    assert not holds_answer(_hit("docs/peg/pages/models/gemma-2.zh.mdx"), peg)


def test_searches_without_the_answer_lose_exactly_its_passages(seed_index, components):
    bot = StudyBot(seed_index, components=components)
    before = bot.retriever.search(BARBELL["question"], 4)
    assert any(holds_answer(h, BARBELL) for h in before)
    with without_answer(bot, BARBELL):
        during = bot.retriever.search(BARBELL["question"], 4)
    assert during and not any(holds_answer(h, BARBELL) for h in during)
    assert [h.chunk.id for h in bot.retriever.search(BARBELL["question"], 4)] == [h.chunk.id for h in before]


def test_without_answer_run_counts_declines_flags_and_leaks(seed_index, tmp_path, components):
    # A model that knows the answer anyway: it is not in what the learner was shown, so the reply leaks it.
    with OpenAIStub(reply="杠铃式阅读法就是只阅读时间线的两端。") as srv:
        s = seed_index.with_overrides(llm="openai", openai_base_url=srv.url + "/v1", openai_model="stub-model",
                                      relevance_floor=0.0, refuse_below_match=0.0)  # the model is asked
        res = run_without_answers(StudyBot(s, components=components), _dataset(tmp_path, BARBELL, COOKING))
    assert res["n_questions"] == 1 and res["rows"][0]["id"] == "seed-02"  # answerable questions only
    row = res["rows"][0]
    assert row["leaked"] and res["leaked"] == 1.0
    assert res["rejected"] == (1.0 if row["status"] in ("not_covered", "declined", "unmentioned", "ungrounded", "restated") else 0.0)
    # Nothing clears the floor: declined.
    res = run_without_answers(StudyBot(seed_index.with_overrides(relevance_floor=1.01), components=components),
                              _dataset(tmp_path, BARBELL))
    assert res["rejected"] == 1.0 and res["statuses"] == {"not_covered": 1}
    assert "declined or flagged 1.000" in "\n".join(without_answer_lines(res))


def test_cli_without_answer(seed_index, tmp_path, capsys):
    from evals.cli import main

    ds = str(_dataset(tmp_path, BARBELL))
    assert main(["--answers", "--without-answer", "--llm", "fake", "--index-dir", str(seed_index.index_dir),
                 "--dataset", ds, "--json", "--rows"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "without_answer" and len(out["rows"]) == 1 and 0.0 <= out["rejected"] <= 1.0
    assert main(["--without-answer", "--index-dir", str(seed_index.index_dir), "--dataset", ds]) == 2
    assert "add --answers" in capsys.readouterr().err


# --- judges on the OpenAI-compatible stub ----------------------------------------------------------


class JudgeStub(OpenAIStub):
    """Replies by prompt: ``answer(prompt) -> reply``."""

    def __init__(self, answer, **config):
        super().__init__(**config)
        self.answer = answer

    def route(self, h, body):
        if isinstance(body, dict) and body.get("messages"):
            self.config.reply = self.answer(body["messages"][-1]["content"])
        super().route(h, body)


def _judged(seed_index, tmp_path, srv, *questions, timeout=5.0, retries=1):
    s = seed_index.with_overrides(openai_base_url=srv.base_url, judge_timeout=timeout, judge_retries=retries)
    judge = make_judge(s, "openai:stub-model")
    res = run_answers(StudyBot(s), _dataset(tmp_path, *questions), judge=judge)
    return res, {r["id"]: r for r in res["rows"]}


def _right_judge(prompt: str) -> str:
    if prompt.startswith("Break the ANSWER"):
        return '["杠铃阅读法只读时间线的两端", "它由爱因斯坦发明"]'
    if prompt.startswith("For each STATEMENT"):
        return '```json\n[{"statement": "a", "verdict": 1}, {"statement": "b", "verdict": 0}]\n```'
    if prompt.startswith("Write 3"):
        return json.dumps({"questions": [BARBELL["question"]] * 3, "noncommittal": 0}, ensure_ascii=False)
    return "?"


def test_judge_scores_follow_its_verdicts(seed_index, tmp_path):
    with JudgeStub(_right_judge) as srv:
        res, rows = _judged(seed_index, tmp_path, srv, BARBELL, COOKING)
    r = rows["seed-02"]
    assert r["faithfulness"] == 0.5  # one of two claims supported
    assert r["answer_relevance"] == pytest.approx(1.0, abs=1e-3)  # regenerated questions = the question
    assert "faithfulness" not in rows["un-02"]  # unanswerable: no judge calls
    verdict_prompt = next(p.body["messages"][-1]["content"] for p in srv.posts("/chat/completions")
                          if p.body["messages"][-1]["content"].startswith("For each STATEMENT"))
    assert "杠铃" in verdict_prompt  # the passages the bot saw are the context
    assert res["judge"]["failures"] == 0 and res["judge"]["calls"] == 3
    assert res["overall"]["faithfulness"] == 0.5
    assert "faithfulness(judge) 0.500" in "\n".join(answer_summary_lines(res))


@pytest.mark.parametrize("mode", ["garbage", "error500", "stall_headers"])
def test_failing_judge_leaves_none_and_counts(seed_index, tmp_path, mode):
    second = {**BARBELL, "id": "seed-02b", "question": "杠铃阅读法读哪两端？"}
    with JudgeStub(lambda p: "I think the answer is fine.", stall_seconds=20) as srv:
        if mode != "garbage":
            srv.mode = mode
        res, rows = _judged(seed_index, tmp_path, srv, BARBELL, second, timeout=1.0, retries=1)
        posts = len(srv.posts("/chat/completions"))
    for qid in ("seed-02", "seed-02b"):
        assert rows[qid]["faithfulness"] is None and rows[qid]["answer_relevance"] is None
        assert rows[qid]["faithfulness_proxy"] is not None  # the LLM-free metrics are still there
    j = res["judge"]
    assert j["failures"] == 4  # two metrics on two questions
    if mode == "garbage":  # answers arrive, none parse: every metric tries 1 + retries times
        assert j["calls"] == 8 and j["errors"] == 0 and posts == 8
    else:  # errors switch the judge off after three in a row
        assert j["calls"] == 3 and j["errors"] == 3 and j["disabled"]
        assert posts <= 6  # the SDK's own single retry at most
    assert "faithfulness" not in res["overall"]
    assert "4 metrics left empty" in "\n".join(answer_summary_lines(res))


def test_judge_spec_is_checked(seed_index):
    with pytest.raises(ValueError, match="provider must be one of"):
        make_judge(seed_index, "gpt4")


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_answers_json_and_report(seed_index, tmp_path, capsys):
    from evals.cli import main

    argv = ["--answers", "--limit", "3", "--llm", "fake", "--index-dir", str(seed_index.index_dir),
            "--dataset", str(_dev()), "--json", "--rows", "--report", str(tmp_path / "rep")]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "answers" and len(out["rows"]) == 3 and "answer_coverage" in out["overall"]
    assert "## Answers" in (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert main(["--judge", "local", "--index-dir", str(seed_index.index_dir)]) == 2
    assert main(["--answers", "--compare", "bm25", "--index-dir", str(seed_index.index_dir)]) == 2
    assert "--answers" in capsys.readouterr().err
