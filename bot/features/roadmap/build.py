"""Personal learning roadmaps grounded in the library.

    from bot.features.roadmap.build import build_roadmap
    rm = build_roadmap({"goal": "用AI做小红书内容", "background": "内容创作者，不会编程",
                        "hours_per_week": 5, "months": 3}, bot.search, llm=None)
    rm.to_json()   # {"profile", "track", "total_weeks", "stages": [...], "total_hours", "intro", "prose", "markdown"}

The app decides everything measurable (track, stages, weeks, hours, tasks, citations); the
optional LLM only words the intro and one line per stage (see ``bot.features.roadmap.prose``);
``reword_roadmap`` adds that prose to a plan already shown. Exports
(Markdown file, iCalendar, SVG timeline) live in ``bot.features.roadmap.export``.
"""
from __future__ import annotations

from typing import Any

from bot.features.roadmap.coverage import RoadmapPlan, plan_roadmap
from bot.features.roadmap.ground import RoadmapError, SearchFn, ground_stage, keyword_matches
from bot.features.roadmap.library import Library
from bot.features.roadmap.models import Gap, Profile, Roadmap, Stage, StageCitation, format_profile_errors, weeks_for
from bot.features.roadmap.prose import DEFAULT_TIMEOUT, Prose, write_prose
from bot.features.roadmap.render import render_markdown
from bot.features.roadmap.tracks import TrackMatch, classify_track

MAX_CITATIONS = 3

__all__ = [
    "Library", "Profile", "Roadmap", "RoadmapError", "Stage", "StageCitation", "TrackMatch", "build_roadmap",
    "classify_track", "format_profile_errors", "reword_roadmap", "weeks_for",
]

DEFAULT_K = 4


def build_roadmap(profile: Profile | dict[str, Any], search: SearchFn, llm: Any = None, *, k: int = DEFAULT_K,
                  prose_timeout: float = DEFAULT_TIMEOUT, prose_max_tokens: int | None = None,
                  library: Library | None = None) -> Roadmap:
    """A validated roadmap. Raises pydantic.ValidationError for a bad profile (see
    ``format_profile_errors``) and RoadmapError when the library cannot back a stage.

    ``library``: the curricula found in the library and the embedder to match them (see
    bot.features.roadmap.library); without it only the catalogue serves, and goals outside its
    scope come back ``covered=False`` with their gaps."""
    if not isinstance(profile, Profile):
        profile = Profile.model_validate(profile)
    plan = plan_roadmap(profile, library)
    if not plan.covered:
        return _assemble(profile, plan, [], Prose("", [], "template"))
    used: set[str] = set()
    cache: dict = {}
    citations = [_ground(ps.template, own, search, k, used, cache) for ps, own in zip(plan.planned, plan.own)]
    prose = write_prose(profile, plan.track, plan.planned, llm, timeout=prose_timeout, max_tokens=prose_max_tokens)
    return _assemble(profile, plan, citations, prose)


def _ground(t, own: list[StageCitation], search: SearchFn, k: int, used: set[str], cache: dict) -> list[StageCitation]:
    """A catalogue stage's passages from search; a curriculum stage cites its own section first, then
    library passages that share its topics (none from unrelated fields: without a shared topic, nothing)."""
    if not own:
        return ground_stage(t, search, k, used, cache)
    out = list(own)
    seen = {(c.path, c.section, c.page) for c in out}
    for q in t.queries:
        if q not in cache:
            try:
                cache[q] = list(search(q, k) or [])
            except Exception:  # noqa: BLE001 - the stage already cites its curriculum; extra passages are a bonus
                cache[q] = []
        for h in sorted(cache[q], key=lambda h: (-keyword_matches(t, h), -h.score)):
            c = h.chunk
            key = (c.path, c.section, c.page)
            if key in seen or c.id in used or keyword_matches(t, h) == 0 or len(out) >= MAX_CITATIONS:
                continue
            seen.add(key)
            used.add(c.id)
            out.append(StageCitation(path=c.path, title=c.title, page=c.page, section=c.section, chunk_id=c.id))
    return out


def reword_roadmap(rm: Roadmap, llm: Any, *, prose_timeout: float = DEFAULT_TIMEOUT,
                   prose_max_tokens: int | None = None, library: Library | None = None) -> Roadmap:
    """The same plan and citations with the model's intro and stage lines.

    Lets a UI show ``build_roadmap(..., llm=None)`` at once and add the slow prose after; the plan
    is recomputed from the profile (it is deterministic) and must match stage for stage.
    """
    if llm is None or not rm.covered:
        return rm
    plan = plan_roadmap(rm.profile, library)
    if [ps.template.id for ps in plan.planned] != [s.id for s in rm.stages]:
        return rm  # built by another catalogue or library version: keep it as it is
    prose = write_prose(rm.profile, rm.track, plan.planned, llm, timeout=prose_timeout, max_tokens=prose_max_tokens)
    if prose.source != "llm":
        return rm
    return _assemble(rm.profile, plan, [s.citations for s in rm.stages], prose)


def _assemble(profile: Profile, plan: RoadmapPlan, citations: list[list[StageCitation]], prose: Prose) -> Roadmap:
    lang = profile.lang or "en"
    stages = [
        Stage(id=ps.template.id, title=ps.template.title_in(lang), start_week=ps.start_week, end_week=ps.end_week,
              hours=ps.hours, topics=ps.topics, tasks=ps.tasks, citations=cites, rationale=why, origin=origin)
        for ps, cites, why, origin in zip(plan.planned, citations, prose.rationales, plan.origins)
    ]
    fields = dict(profile=profile, track=plan.track, total_weeks=profile.weeks, stages=stages,
                  total_hours=sum(s.hours for s in stages), intro=prose.intro, prose=prose.source,
                  covered=plan.covered, gaps=[Gap(**g) for g in plan.gaps])
    draft = Roadmap(**fields)
    return Roadmap(**fields, markdown=render_markdown(draft))
