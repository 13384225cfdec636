"""Form input for roadmaps (shared by the CLI and the UI): one readable line per problem, in the form's language."""
from __future__ import annotations

from datetime import date

import pytest

from bot.features.roadmap.forms import CLI_LABELS, FormProblems, check_request, message_lang


def problems(fields, start=None, lang=None, labels=None) -> list[str]:
    with pytest.raises(FormProblems) as e:
        check_request(fields, start, lang, labels)
    return e.value.lines


def test_chinese_form_gets_chinese_lines_for_every_problem():
    lines = problems(dict(goal="", background="x" * 301, level="大师", hours_per_week=0, months="2.5", lang="zh"),
                     "2025-02-30")
    assert lines == [
        "学习目标：请填写，写下你想学会或做成的事，2–300 个字",
        "背景/角色：最多 300 个字（当前 301 个字）",
        "水平：请选择 入门、中级 或 高级（当前：大师）",
        "每周学习小时数：须为 1–60 之间的整数（当前：0）",
        "学习月数：须为 1–24 之间的整数（当前：2.5）",
        "日历开始日期：请用 2025-03-03 这样的日期格式（当前：2025-02-30）",
    ]


def test_empty_numbers_read_as_required():
    assert problems(dict(goal="用AI做小红书内容", hours_per_week=None, months="")) == [
        "每周学习小时数：请填写，须为 1–60 之间的整数", "学习月数：请填写，须为 1–24 之间的整数"]
    assert problems(dict(goal="learn AI", hours_per_week=None, months=3)) == ["Hours per week: is required"]


def test_cli_names_the_flags():
    assert problems(dict(goal="learn AI", hours_per_week=99, months=3), "x", "en", CLI_LABELS) == [
        "--hours-per-week: must be between 1 and 60 hours (got 99)",
        "--start-date: must be a date like 2025-03-03 (got 'x')"]


def test_message_language_follows_the_plan_then_the_goal():
    assert message_lang(dict(goal="learn AI", lang="中文")) == "zh"
    assert message_lang(dict(goal="用AI写作", lang="")) == "zh"
    assert message_lang(dict(goal="learn AI")) == "en"
    assert message_lang(dict(goal=""), default="en") == "en" and message_lang(dict(goal="")) == "zh"


def test_good_input_gives_a_profile_and_a_start_date():
    profile, start = check_request(dict(goal=" 用AI做小红书内容 ", background="", level="初级", hours_per_week=5.0,
                                        months="3", lang=""), "2025-03-03")
    assert (profile.goal, profile.level, profile.hours_per_week, profile.months, profile.lang) == (
        "用AI做小红书内容", "beginner", 5, 3, "zh")
    assert start == date(2025, 3, 3)
