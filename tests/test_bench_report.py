"""The benches' report logic (no timing is asserted anywhere: the machine is shared)."""
from __future__ import annotations

import pytest

from evals.bench_concurrency import evidence_report, format_report, ratio_report
from evals.bench_scale import sizes_up_to, table


def test_ratios_are_to_the_single_learner_median_of_the_same_run():
    rep = ratio_report([2.0, 10.0, 3.0], {"4 learners at once": [3.0, 6.0, 9.0, 12.0], "during re-index": [4.5]})
    assert rep["baseline_median_s"] == 3.0
    four = rep["scenarios"]["4 learners at once"]
    assert four == {"learners": 4, "median_ratio": 2.5, "max_ratio": 4.0}
    assert rep["scenarios"]["during re-index"]["median_ratio"] == 1.5
    text = format_report(rep)
    assert "x2.50" in text and "worst learner x4.00" in text and "3.00 s" in text


def test_a_scenario_without_first_tokens_is_reported_not_divided():
    rep = ratio_report([1.0], {"8 learners at once": []})
    assert rep["scenarios"]["8 learners at once"]["median_ratio"] is None
    assert "no learner got a first token" in format_report(rep)


def test_the_baseline_must_exist():
    with pytest.raises(ValueError):
        ratio_report([], {"x": [1.0]})
    with pytest.raises(ValueError):
        ratio_report([0.0], {"x": [1.0]})


def test_scale_sizes_and_table():
    assert sizes_up_to(1_000_000) == [10_000, 100_000, 1_000_000]
    assert sizes_up_to(50_000) == [10_000, 50_000]
    rows = [{"passages": 10_000, "manifest_s": 2.2, "manifest_mb": 8.6, "bm25_build_s": 2.2, "bm25_load_s": 0.21,
             "bm25_vocab": 71275, "bm25_nnz": 479277, "bm25_p50_ms": 0.4, "bm25_p95_ms": 6.6, "dense_copy_mb": 15.0,
             "dense_copy_s": 0.3, "dense_p50_ms": 28.0, "dense_p95_ms": 46.2, "rss_mb": 289.0, "peak_rss_mb": 289.0,
             "cpu_s": 9.0, "wall_s": 20.0},
            {"passages": 1_000_000, "error": "did not finish within 900 s"}]
    lines = table(rows).splitlines()
    assert len(lines) == 4
    assert lines[0].count("|") == lines[1].count("|") == lines[2].count("|") == lines[3].count("|")
    assert "| 10,000 | 2.2 (8.6) |" in lines[2] and "71,275, 479,277" in lines[2]
    assert "1,000,000 | did not finish within 900 s" in lines[3]


def test_evidence_is_counted_against_the_one_second_target_and_missing_evidence_is_named():
    rep = evidence_report({"8 learners at once": [0.2, 0.9, 1.0, 1.4, None]})["8 learners at once"]
    assert rep == {"learners": 5, "within": 3, "none": 1, "max_s": 1.4}
    assert evidence_report({"x": [None]})["x"]["max_s"] is None
