"""Roadmaps: time arithmetic, tracks, grounding in the real seed files, prose fallbacks, exports.

Search is faked over paragraphs of knowledge/seeds/*.txt (character-bigram overlap), so no
index or model is needed and every citation must point at a real seed file.
"""
from __future__ import annotations

import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from functools import cache, lru_cache
from pathlib import Path

import pytest
from icalendar import Calendar, Event
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from pydantic import ValidationError

from bot.features.roadmap.build import (
    DEFAULT_K,
    Profile,
    Roadmap,
    RoadmapError,
    Stage,
    StageCitation,
    build_roadmap,
    classify_track,
    format_profile_errors,
    reword_roadmap,
    weeks_for,
)
from bot.core.text import cjk_ratio
from bot.core.types import Chunk, Hit
from bot.features.roadmap.catalog import TEMPLATES, TRACKS
from bot.features.roadmap.export import save_ics, save_timeline, timeline_figure, to_ics, to_markdown_file
from bot.features.roadmap.ground import keyword_matches
from bot.features.roadmap.plan import allocate_weeks, stage_count

SEEDS = sorted((Path(__file__).resolve().parent.parent / "knowledge" / "seeds").glob("*.txt"))
CODING_WORDS = ("API", "Python", "PyTorch", "代码", "编程", "RAG", "微调", "FastAPI", "Transformer")


# --- a search over the real seed files ----------------------------------------------------------


def _title(text: str, path: Path) -> str:
    m = re.search(r"^title:\s*(.+)$", text, re.M) or re.search(r"^#\s+(.+)$", text, re.M)
    return m.group(1).strip() if m else path.stem


def _blocks(text: str):
    """(heading path, text) blocks: a heading or a blank line ends one, and so does size, as in the real splitter."""
    heads: dict[int, str] = {}
    buf: list[str] = []
    for line in [*text.splitlines(), ""]:
        head = re.match(r"^(#{1,6})\s+(.+?)\s*$", line)
        if head or not line.strip() or sum(map(len, buf)) > 400:
            if buf:
                yield " > ".join(heads[k] for k in sorted(heads)) or None, "\n".join(buf).strip()
            buf = []
        if head:
            level = len(head.group(1))
            heads = {k: v for k, v in heads.items() if k < level} | {level: head.group(2)}
        elif line.strip():
            buf.append(line)


@lru_cache(maxsize=1)
def seed_chunks() -> tuple[Chunk, ...]:
    out: list[Chunk] = []
    for path in SEEDS:
        text = path.read_text(encoding="utf-8")
        title = _title(text, path)
        for section, body in _blocks(text):
            if len(body) >= 20:
                out.append(Chunk(id=f"{path.stem}:{len(out)}", text=body, path=str(path), title=title,
                                 section=section, ordinal=len(out)))
    return tuple(out)


def _grams(s: str) -> frozenset[str]:
    s = re.sub(r"\s+", " ", s.lower())
    return frozenset(s[i : i + 2] for i in range(len(s) - 1) if s[i : i + 2].strip())


@cache
def _ranked(query: str) -> tuple[Hit, ...]:
    q = _grams(query)
    scored = []
    for c in seed_chunks():
        s = len(q & _grams(f"{c.section or ''} {c.text}")) / max(1, len(q))
        if s > 0:
            scored.append(Hit(chunk=c, score=round(s, 6)))
    scored.sort(key=lambda h: (-h.score, h.chunk.id))
    return tuple(scored)


def seed_search(query: str, k: int) -> list[Hit]:
    return list(_ranked(query)[:k])


def chunk_for(path: str, section: str | None) -> list[Chunk]:
    return [c for c in seed_chunks() if c.path == path and c.section == section]


# --- the profile table -----------------------------------------------------------------------------

PROFILES = {
    "creator_nocode_zh": (dict(goal="用AI工具做小红书和B站内容", background="内容创作者，不会编程", hours_per_week=5,
                               months=3, lang="zh"), "creator"),
    "creator_nocode_12m_zh": (dict(goal="用AI工具做小红书和B站内容", background="内容创作者，不会编程",
                                   hours_per_week=5, months=12, lang="zh"), "creator"),
    "backend_dev_en": (dict(goal="Add LLM features to our product", background="backend developer",
                            level="intermediate", hours_per_week=8, months=6, lang="en"), "builder"),
    "teacher_zh": (dict(goal="用AI提升备课和学生评价的效率", background="高中语文老师", hours_per_week=3, months=4),
                   "educator"),
    "doctor_zh": (dict(goal="用AI写医学科普并整理病例资料", background="医生", hours_per_week=4, months=6),
                  "domain_expert"),
    "lawyer_nocode_zh": (dict(goal="用AI起草合同和法律文书", background="律师，不会编程", level="intermediate",
                              hours_per_week=6, months=9), "domain_expert"),
    "advanced_dev_en": (dict(goal="Ship fine-tuned models to production", background="senior ML engineer",
                             level="advanced", hours_per_week=15, months=6, lang="en"), "builder"),
    "one_month_2h_zh": (dict(goal="了解生成式AI能做什么", hours_per_week=2, months=1), "general"),
    "long_24m_20h_zh": (dict(goal="成为能独立开发AIGC应用的工程师", background="前端工程师", hours_per_week=20,
                             months=24), "builder"),
    "pm_general_en": (dict(goal="Understand generative AI to stay relevant at work", background="product manager",
                           hours_per_week=4, months=3), "general"),
    "lecturer_adv_en": (dict(goal="Teach a university course on prompting", background="university lecturer",
                             level="advanced", hours_per_week=6, months=12), "educator"),
    "illustrator_en": (dict(goal="Make AI illustrations and short videos",
                            background="freelance illustrator, no coding", level="intermediate",
                            hours_per_week=10, months=6), "creator"),
}


@cache
def plan(name: str) -> Roadmap:
    return build_roadmap(PROFILES[name][0], seed_search)


def ids(rm: Roadmap) -> list[str]:
    return [s.id for s in rm.stages]


def check_time(rm: Roadmap) -> None:
    p = rm.profile
    assert rm.total_weeks == round(p.months * 52 / 12) == p.weeks
    assert rm.total_hours == sum(s.hours for s in rm.stages) <= p.hours_per_week * rm.total_weeks
    assert rm.stages[0].start_week == 1 and rm.stages[-1].end_week == rm.total_weeks
    for a, b in zip(rm.stages, rm.stages[1:]):
        assert b.start_week == a.end_week + 1
    for s in rm.stages:
        assert s.end_week >= s.start_week
        assert s.hours == (s.end_week - s.start_week + 1) * p.hours_per_week


# --- the table ---------------------------------------------------------------------------------------


def test_the_table_has_enough_profiles():
    assert len(PROFILES) >= 10


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_plan_is_valid_grounded_and_exportable(name):
    rm = plan(name)
    check_time(rm)
    assert rm.track == PROFILES[name][1]
    seed_paths = {str(p) for p in SEEDS}
    for s in rm.stages:
        assert s.citations, s.id
        for c in s.citations:
            assert Path(c.path).is_file() and c.path in seed_paths
            assert chunk_for(c.path, c.section), f"{s.id} cites a passage search never returned"
        assert all(("交付物" if rm.profile.lang == "zh" else "deliverable") in t for t in s.tasks)
        assert s.topics and s.tasks and s.rationale
    data = rm.to_json()
    assert {"stages", "total_hours", "markdown"} <= set(data)
    json.dumps(data, ensure_ascii=False)
    assert Roadmap.model_validate(data) == rm
    check_ics(to_ics(rm, date(2025, 3, 3)), rm, date(2025, 3, 3))
    check_svg(timeline_figure(rm), rm)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_markdown_is_in_the_profiles_language(name):
    rm = plan(name)
    md = rm.markdown
    for s in rm.stages:
        assert s.title in md and f"{s.hours}" in md
        for c in s.citations:
            assert c.title in md
    if rm.profile.lang == "zh":
        assert md.startswith("# 学习路线图：") and "合计" in md and "任务与交付物" in md
        assert cjk_ratio(md) > 0.5
    else:
        assert md.startswith("# Learning roadmap:") and "Tasks and deliverables" in md
        prose = "\n".join(line for line in md.splitlines() if not line.startswith("- ") and "—" not in line)
        assert cjk_ratio(prose) < 0.05


def test_user_text_stays_inert_in_markdown():
    rm = build_roadmap(dict(goal="# <img src=x onerror=alert(1)> learn AI\n## injected", background="> teacher",
                            hours_per_week=3, months=3), seed_search)
    md = rm.markdown
    assert "<img" not in md and "\n## injected" not in md
    assert [line for line in md.splitlines() if line.startswith("# ")] == [md.splitlines()[0]]
    first_stage_sources = md.split("## Stage 2")[0].split("**Sources**")[1]
    assert " > " in first_stage_sources and "&gt;" not in first_stage_sources  # section paths stay readable


def test_plans_are_deterministic():
    again = build_roadmap(PROFILES["creator_nocode_zh"][0], seed_search)
    assert again.to_json() == plan("creator_nocode_zh").to_json()


# --- the plan follows the profile ----------------------------------------------------------------


def test_no_code_creator_starts_with_tools_and_never_codes():
    rm = plan("creator_nocode_zh")
    first = rm.stages[0]
    assert first.id in {"tools", "prompting", "workflow"}
    assert not any(w.lower() in (first.title + " ".join(first.topics)).lower() for w in CODING_WORDS)
    assert not any(TEMPLATES[i].needs_code for i in ids(rm) + ids(plan("creator_nocode_12m_zh")))
    assert "workflow" in ids(rm)


def test_developer_gets_llm_apis_rag_and_fine_tuning():
    for name in ("backend_dev_en", "advanced_dev_en", "long_24m_20h_zh"):
        assert {"rag", "finetune"} <= set(ids(plan(name))), name
    assert "llm_apps" in ids(plan("backend_dev_en"))


def test_educator_gets_teaching_with_ai():
    assert "teach_with_ai" in ids(plan("teacher_zh"))
    assert "teach_with_ai" in ids(plan("lecturer_adv_en"))
    one_month = build_roadmap(dict(goal="用AI备课", background="小学老师", hours_per_week=3, months=1), seed_search)
    assert ids(one_month) == ["tools", "teach_with_ai"]
    eight_hours = build_roadmap(dict(goal="用AI备课", background="小学老师", hours_per_week=2, months=1), seed_search)
    assert ids(eight_hours) == ["teach_with_ai"]  # one stage only: it is the one an educator came for


def test_domain_expert_gets_field_practice():
    for name in ("doctor_zh", "lawyer_nocode_zh"):
        assert {"best_practice", "domain_content"} <= set(ids(plan(name)))


def test_advanced_level_skips_the_basics():
    assert not {"foundations", "llm_apps"} & set(ids(plan("advanced_dev_en")))
    assert not {"tools", "genai_map"} & set(ids(plan("lecturer_adv_en")))
    beginner = build_roadmap(dict(PROFILES["advanced_dev_en"][0], level="beginner"), seed_search)
    assert "foundations" in ids(beginner) or "llm_apps" in ids(beginner)


def test_twelve_months_adds_depth_instead_of_stretching():
    short, long = plan("creator_nocode_zh"), plan("creator_nocode_12m_zh")
    assert len(long.stages) > len(short.stages)
    extra = set(ids(long)) - set(ids(short))
    assert extra & {"monetization", "capstone_creator", "content_strategy", "tech_understanding"}
    order = ids(long)
    assert [i for i in order if i in ids(short)] == ids(short)  # the short plan's stages keep their order


@pytest.mark.parametrize("months", [3, 12])
def test_same_goal_differs_by_background_and_length(months):
    goal = dict(goal="用生成式AI提升工作效率", hours_per_week=5, months=months)
    creator = build_roadmap(dict(goal, background="内容创作者，不会编程"), seed_search)
    developer = build_roadmap(dict(goal, background="后端开发工程师"), seed_search)
    assert creator.total_hours == developer.total_hours == 5 * weeks_for(months)  # same budget, different plan
    assert not any(TEMPLATES[i].needs_code for i in ids(creator))
    assert any(TEMPLATES[i].needs_code for i in ids(developer))
    assert ids(creator) != ids(developer)
    if months == 12:
        short = build_roadmap(dict(goal, background="后端开发工程师", months=3), seed_search)
        assert len(developer.stages) > len(short.stages)
        assert set(ids(short)) < set(ids(developer))


def test_short_plans_have_few_stages():
    tiny = plan("one_month_2h_zh")
    assert len(tiny.stages) == 1 and tiny.total_hours == 8
    month = build_roadmap(dict(goal="learn to build a chatbot", background="developer", hours_per_week=10, months=1),
                          seed_search)
    assert len(month.stages) == 2
    assert len(plan("long_24m_20h_zh").stages) >= 8


def test_goal_pulls_matching_stages_forward():
    base = dict(background="内容创作者，不会编程", hours_per_week=5, months=2)
    plain = build_roadmap(dict(base, goal="提升内容创作效率"), seed_search)
    video = build_roadmap(dict(base, goal="学会用AI做短视频"), seed_search)
    assert "media_creation" not in ids(plain) and "media_creation" in ids(video)


@pytest.mark.parametrize("track", sorted(TRACKS))
@pytest.mark.parametrize("level", ["beginner", "intermediate", "advanced"])
def test_time_invariants_across_all_lengths(track, level):
    background = {"creator": "博主", "builder": "developer", "educator": "teacher", "domain_expert": "lawyer",
                  "general": ""}[track]
    prev = 0
    for months in range(1, 25):
        for hpw in (1, 2, 7, 60):
            rm = build_roadmap(dict(goal="learn generative AI", background=background, level=level,
                                    hours_per_week=hpw, months=months), seed_search)
            assert rm.track == track
            check_time(rm)
            assert len({s.id for s in rm.stages}) == len(rm.stages)
        assert len(rm.stages) >= prev  # more months never means fewer stages
        prev = len(rm.stages)


def test_stage_arithmetic():
    assert [weeks_for(m) for m in (1, 2, 3, 6, 12, 24)] == [4, 9, 13, 26, 52, 104]
    assert stage_count(4, 8) == 1 and stage_count(13, 65) == 4 and stage_count(52, 520) == 7
    assert stage_count(104, 2080) == 9 and stage_count(2, 120) == 1
    assert allocate_weeks([1.5, 2.5, 1.0], 13) == [4, 6, 3]
    assert sum(allocate_weeks([3.0] * 9, 10)) == 10 and min(allocate_weeks([3.0] * 9, 10)) == 1
    with pytest.raises(ValueError):
        allocate_weeks([1, 1, 1], 2)


# --- tracks ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("background,goal,track,no_code", [
    ("内容创作者，不会编程", "", "creator", True),
    ("backend developer", "", "builder", False),
    ("Python后端开发工程师", "", "builder", False),
    ("中学老师", "", "educator", False),
    ("AI创作教育者", "", "educator", False),
    ("医生", "", "domain_expert", False),
    ("律师兼博主", "", "domain_expert", False),
    ("YouTuber, I can't code", "", "creator", True),
    ("product manager", "", "general", False),
    ("", "", "general", False),
    ("", "build a RAG chatbot in Python", "builder", False),
    ("student", "我想学习如何用AI做短视频", "creator", False),
    ("designer, non-technical", "learn to code agents", "creator", True),
])
def test_track_rules(background, goal, track, no_code):
    m = classify_track(background, goal)
    assert (m.track, m.no_code) == (track, no_code), m


def test_ascii_keywords_need_a_word_start():
    assert classify_track("rapid prototyper").track == "general"  # "api" inside "rapid" is not an API


# --- grounding -------------------------------------------------------------------------------------------


def test_search_is_called_with_template_queries():
    calls = []

    def spy(q, k):
        calls.append((q, k))
        return seed_search(q, k)

    rm = build_roadmap(PROFILES["backend_dev_en"][0], spy)
    asked = {q for q, _ in calls}
    for s in rm.stages:
        assert set(TEMPLATES[s.id].queries) & asked
    assert {k for _, k in calls} == {DEFAULT_K}


def test_citations_prefer_passages_about_the_stage():
    for name in PROFILES:
        for s in plan(name).stages:
            t = TEMPLATES[s.id]
            cited = [c for cite in s.citations for c in chunk_for(cite.path, cite.section)]
            best = max(keyword_matches(t, Hit(c, 0.0)) for c in cited)
            assert best >= 1, (name, s.id, [c.section for c in cited])


def test_stage_citations_are_spread_over_the_library():
    rm = plan("long_24m_20h_zh")
    cited = [(c.path, c.section) for s in rm.stages for c in s.citations]
    assert len(set(cited)) >= len(rm.stages)
    assert len({p for p, _ in cited}) >= 3


def test_failing_or_empty_search_raises_a_clear_error():
    def broken(q, k):
        raise ConnectionError("chroma is down")

    with pytest.raises(RoadmapError, match="search failed.*chroma is down"):
        build_roadmap(PROFILES["teacher_zh"][0], broken)
    with pytest.raises(RoadmapError, match="no passages"):
        build_roadmap(PROFILES["teacher_zh"][0], lambda q, k: [])


# --- validation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("change,field,text", [
    ({"hours_per_week": 0}, "hours_per_week", "between 1 and 60"),
    ({"hours_per_week": 61}, "hours_per_week", "between 1 and 60"),
    ({"hours_per_week": 2.5}, "hours_per_week", "whole number"),
    ({"hours_per_week": "lots"}, "hours_per_week", "whole number"),
    ({"months": 25}, "months", "between 1 and 24"),
    ({"months": 0}, "months", "between 1 and 24"),
    ({"level": "guru"}, "level", "beginner, intermediate or advanced"),
    ({"lang": "fr"}, "lang", "zh or en"),
    ({"goal": "  "}, "goal", "required"),
    ({"colour": "blue"}, "colour", "not a profile field"),
])
def test_profile_errors_are_clear(change, field, text):
    with pytest.raises(ValidationError) as e:
        Profile(**(dict(goal="learn AI", hours_per_week=5, months=3) | change))
    lines = format_profile_errors(e.value)
    assert any(line.startswith(field + ":") and text in line for line in lines), lines


def test_profile_accepts_common_spellings():
    p = Profile(goal="学习AIGC", hours_per_week="6", months=3.0, level="初级", lang=None)
    assert (p.hours_per_week, p.months, p.level, p.lang) == (6, 3, "beginner", "zh")
    assert Profile(goal="learn AI", hours_per_week=6, months=3, lang="English").lang == "en"
    assert Profile(goal="learn AI", hours_per_week=6, months=3).lang == "en"
    with pytest.raises(ValidationError):
        Profile(goal="learn AI", months=3)


def _stage(i, a, b, h, cites=True):
    return Stage(id=f"s{i}", title=f"S{i}", start_week=a, end_week=b, hours=h, topics=["t"],
                 tasks=["x (deliverable: y)"], citations=[StageCitation(path="p", title="t")] if cites else [])


def test_roadmap_model_rejects_broken_time():
    p = Profile(goal="learn AI", hours_per_week=2, months=1)  # 4 weeks, 8 hours
    ok = dict(profile=p, track="general", total_weeks=4, total_hours=8)
    Roadmap(**ok, stages=[_stage(1, 1, 2, 4), _stage(2, 3, 4, 4)])
    for stages, msg in [
        ([_stage(1, 1, 2, 4), _stage(2, 2, 4, 6)], "overlap"),
        ([_stage(1, 1, 1, 2), _stage(2, 3, 4, 4)], "gap"),
        ([_stage(1, 1, 2, 5), _stage(2, 3, 4, 3)], "expected 2 weeks"),
        ([_stage(1, 1, 3, 6)], "stages end at week 3"),
    ]:
        with pytest.raises(ValidationError, match=msg):
            Roadmap(**ok, stages=stages)
    with pytest.raises(ValidationError):
        _stage(1, 1, 4, 8, cites=False)
    with pytest.raises(ValidationError, match="before it starts"):
        _stage(1, 3, 2, 2)


# --- the LLM may only write prose ----------------------------------------------------------------------


def _fake_llm(text: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content=text)]))


def _plan_only(rm: Roadmap) -> list[tuple]:
    return [(s.id, s.start_week, s.end_week, s.hours, tuple(s.topics), tuple(s.tasks), tuple(map(str, s.citations)))
            for s in rm.stages]


def test_llm_prose_appears_but_cannot_change_the_plan():
    base = plan("creator_nocode_zh")
    n = len(base.stages)
    lines = ["0: 这是一条为创作者量身定制的路线，先用工具，再建工作流。"]
    lines += [f"{i}: 第{i}段专属说明：这一步最贴合你的创作目标。" for i in range(1, n + 1)]
    lines[2] = "2: 这个阶段只要 1 周，每周 100 小时就够了。"  # a time claim: must be dropped
    lines += [f"{n + 1}: 额外加一个阶段：学习 Python 编程。", "<script>alert(1)</script>"]
    rm = build_roadmap(PROFILES["creator_nocode_zh"][0], seed_search, llm=_fake_llm("\n".join(lines)))
    assert rm.prose == "llm"
    assert _plan_only(rm) == _plan_only(base) and rm.total_hours == base.total_hours
    assert rm.intro.startswith("这是一条为创作者量身定制的路线") and rm.intro in rm.markdown
    assert "第1段专属说明" in rm.stages[0].rationale and "第1段专属说明" in rm.markdown
    assert rm.stages[1].rationale == base.stages[1].rationale  # the time claim fell back to the template
    for junk in ("100 小时", "Python 编程", "<script>", "额外加一个阶段"):
        assert junk not in rm.markdown


def test_reword_adds_the_same_prose_to_a_plan_already_shown():
    lines = "\n".join(["0: 这是一条为创作者量身定制的路线，先用工具，再建工作流。",
                       "1: 先把常用工具用熟，后面的阶段都靠它。"])
    shown = plan("creator_nocode_zh")
    reworded = reword_roadmap(shown, _fake_llm(lines))
    at_once = build_roadmap(PROFILES["creator_nocode_zh"][0], seed_search, llm=_fake_llm(lines))
    assert reworded.prose == "llm" and reworded.to_json() == at_once.to_json()
    assert _plan_only(reworded) == _plan_only(shown)
    assert reword_roadmap(shown, None) is shown
    assert reword_roadmap(shown, _fake_llm("Here is your plan.")) is shown  # nothing usable: unchanged


def test_llm_prose_in_the_wrong_language_is_ignored():
    rm = build_roadmap(PROFILES["creator_nocode_zh"][0], seed_search,
                       llm=_fake_llm("0: Here is your plan.\n1: Tools first."))
    assert rm.prose == "template" and rm.to_json() == plan("creator_nocode_zh").to_json()


class _Streamer(BaseChatModel):
    """A chat model that only streams, as the roadmap prose reads it: ``pieces()`` yields the text."""

    pieces: Callable[[], Iterator[str]]

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kw):
        raise NotImplementedError("the roadmap prose only streams")

    def _stream(self, messages, stop=None, run_manager=None, **kw):
        for text in self.pieces():
            yield ChatGenerationChunk(message=AIMessageChunk(content=text))


def _exploding() -> Iterator[str]:
    raise RuntimeError("model exploded")
    yield ""


def test_failing_llm_falls_back_to_the_templated_plan():
    rm = build_roadmap(PROFILES["backend_dev_en"][0], seed_search, llm=_Streamer(pieces=_exploding))
    assert rm.prose == "template"
    assert rm.to_json() == plan("backend_dev_en").to_json()


_RELEASE = threading.Event()
_PULLED: list[int] = []


def _stalling() -> Iterator[str]:
    yield "0: Start with what you know.\n1: Half a sen"
    _RELEASE.wait(10)


def _endless() -> Iterator[str]:
    yield "0: 先从工具开始。\n"
    while True:
        _PULLED.append(1)
        yield "啊"


def test_slow_llm_times_out_and_keeps_only_complete_lines():
    t0 = time.monotonic()
    try:
        rm = build_roadmap(PROFILES["pm_general_en"][0], seed_search, llm=_Streamer(pieces=_stalling), prose_timeout=0.5)
    finally:
        _RELEASE.set()
    assert time.monotonic() - t0 < 5
    assert rm.intro == "Start with what you know."
    assert "Half a sen" not in rm.markdown
    check_time(rm)


def test_llm_output_is_cut_at_the_token_budget():
    rm = build_roadmap(PROFILES["creator_nocode_zh"][0], seed_search, llm=_Streamer(pieces=_endless), prose_max_tokens=50)
    assert len(_PULLED) < 60
    assert rm.intro == "先从工具开始。" and "啊啊" not in rm.markdown


def test_token_budget_is_also_passed_to_real_providers():
    from langchain_ollama import ChatOllama
    from langchain_openai import ChatOpenAI

    from bot.features.roadmap.prose import _capped

    openai = ChatOpenAI(api_key="x", base_url="http://127.0.0.1:9/v1", model="m", max_tokens=512)
    assert _capped(openai, 100).max_tokens == 100 and openai.max_tokens == 512
    small = ChatOpenAI(api_key="x", base_url="http://127.0.0.1:9/v1", model="m", max_tokens=50)
    assert _capped(small, 100).max_tokens == 50
    assert _capped(ChatOllama(model="qwen2.5:7b"), 100).num_predict == 100


# --- exports ----------------------------------------------------------------------------------------------


def check_ics(ics: str, rm: Roadmap, start: date, weekly: bool = False) -> list[Event]:
    """The calendar as a calendar program reads it (parsed by `icalendar`), plus the byte-level rules."""
    # RFC 5545 3.1: CRLF line ends, lines of at most 75 octets.
    assert ics.endswith("\r\n") and "\n" not in ics.replace("\r\n", "")
    assert all(len(line.encode("utf-8")) <= 75 for line in ics.split("\r\n"))
    cal = Calendar.from_ical(ics)
    assert cal.name == "VCALENDAR" and cal["VERSION"] == "2.0" and cal.get("PRODID")
    assert [c.name for c in cal.subcomponents] == ["VEVENT"] * len(cal.subcomponents)
    events = cal.walk("VEVENT")
    for ev in events:
        for key in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
            assert key in ev, (key, ev)
        stamp = ev.decoded("DTSTAMP")
        assert isinstance(stamp, datetime) and stamp.utcoffset() == timedelta(0)
        first, after = ev.decoded("DTSTART"), ev.decoded("DTEND")
        assert type(first) is date and type(after) is date and after > first  # all-day events
    assert len({str(ev["UID"]) for ev in events}) == len(events)
    n = len(rm.stages)
    assert len(events) == 2 * n + (rm.total_weeks if weekly else 0)
    stage_events = [ev for ev in events if re.search(r"-stage\d+@", str(ev["UID"]))]
    assert stage_events[0].decoded("DTSTART") == start
    assert stage_events[-1].decoded("DTEND") == start + timedelta(weeks=rm.total_weeks)
    for ev, s in zip(stage_events, rm.stages):
        assert s.title in str(ev["SUMMARY"])
    return events


def test_ics_escaping_weekly_events_and_stable_uids():
    rm = build_roadmap(dict(goal='Learn AI; fast, "well" \\ deep', background="teacher", hours_per_week=3, months=2),
                       seed_search)
    fixed = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
    ics = to_ics(rm, "2025-03-03", weekly=True, now=fixed)
    events = check_ics(ics, rm, date(2025, 3, 3), weekly=True)
    # Text is escaped on the wire (RFC 5545 3.3.11); icalendar leaves X- properties raw when reading.
    assert 'X-WR-CALNAME:Learning roadmap: Learn AI\\; fast\\, "well" \\\\ deep' in ics.replace("\r\n ", "")
    assert all(ev.decoded("DTSTAMP") == fixed for ev in events)
    # Multi-line descriptions come back as written.
    s1 = rm.stages[0]
    assert str(events[0]["DESCRIPTION"]).split("\n")[:4] == [f"{s1.weeks} weeks · {s1.hours} hours", "", "Topics:",
                                                              f"- {s1.topics[0]}"]
    assert to_ics(rm, date(2025, 3, 3), now=fixed) == to_ics(rm, datetime(2025, 3, 3, 9), now=fixed)
    # Stable UIDs: exporting again later updates the same events in a calendar instead of adding copies.
    later = Calendar.from_ical(to_ics(rm, "2025-03-03", weekly=True))
    assert [str(ev["UID"]) for ev in later.walk("VEVENT")] == [str(ev["UID"]) for ev in events]
    moved = Calendar.from_ical(to_ics(rm, "2025-03-10", weekly=True, now=fixed))
    assert not {str(ev["UID"]) for ev in moved.walk("VEVENT")} & {str(ev["UID"]) for ev in events}
    with pytest.raises(ValueError, match="start_date"):
        to_ics(rm, "next monday")


def check_svg(svg: str, rm: Roadmap) -> None:
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "stage-bar"]
    assert len(bars) == len(rm.stages)
    xs = [(float(b.get("x")), float(b.get("width"))) for b in bars]
    for (x0, w0), (x1, _) in zip(xs, xs[1:]):
        assert abs(x0 + w0 - x1) < 0.2  # contiguous, like the weeks
    texts = " ".join("".join(t.itertext()) for t in root.iterfind(".//s:text", ns))
    assert ("周" in texts) == (rm.profile.lang == "zh")
    for s in rm.stages:
        assert any(s.title in "".join(t.itertext()) for t in root.iterfind(".//s:title", ns))


def test_exports_write_files(tmp_path):
    rm = plan("teacher_zh")
    md = to_markdown_file(rm, tmp_path / "out" / "plan.md")
    assert md.read_text(encoding="utf-8") == rm.markdown
    ics = save_ics(rm, tmp_path / "plan.ics", "2025-03-03")
    assert b"\r\n" in ics.read_bytes() and b"\r\r\n" not in ics.read_bytes()
    check_ics(ics.read_bytes().decode("utf-8"), rm, date(2025, 3, 3))
    svg = save_timeline(rm, tmp_path / "plan.svg")
    check_svg(svg.read_text(encoding="utf-8"), rm)
