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

from bot.features.roadmap.ground import RoadmapError, SearchFn, ground_stage
from bot.features.roadmap.models import Profile, Roadmap, Stage, StageCitation, format_profile_errors, weeks_for
from bot.features.roadmap.plan import PlannedStage, plan_stages
from bot.features.roadmap.prose import DEFAULT_TIMEOUT, Prose, write_prose
from bot.features.roadmap.render import render_markdown
from bot.features.roadmap.tracks import TrackMatch, classify_track

__all__ = [
    "Profile", "Roadmap", "RoadmapError", "Stage", "StageCitation", "TrackMatch", "build_roadmap",
    "classify_track", "format_profile_errors", "reword_roadmap", "weeks_for",
]

DEFAULT_K = 4


def build_roadmap(profile: Profile | dict[str, Any], search: SearchFn, llm: Any = None, *, k: int = DEFAULT_K,
                  prose_timeout: float = DEFAULT_TIMEOUT, prose_max_tokens: int | None = None) -> Roadmap:
    """A validated roadmap. Raises pydantic.ValidationError for a bad profile (see
    ``format_profile_errors``) and RoadmapError when the library cannot back a stage."""
    if not isinstance(profile, Profile):
        profile = Profile.model_validate(profile)
    match = classify_track(profile.background, profile.goal)
    planned = plan_stages(profile, match.track, match.no_code)

    used: set[str] = set()
    cache: dict = {}
    citations = [ground_stage(ps.template, search, k, used, cache) for ps in planned]
    prose = write_prose(profile, match.track, planned, llm, timeout=prose_timeout, max_tokens=prose_max_tokens)
    return _assemble(profile, match.track, planned, citations, prose)


def reword_roadmap(rm: Roadmap, llm: Any, *, prose_timeout: float = DEFAULT_TIMEOUT,
                   prose_max_tokens: int | None = None) -> Roadmap:
    """The same plan and citations with the model's intro and stage lines.

    Lets a UI show ``build_roadmap(..., llm=None)`` at once and add the slow prose after; the plan
    is recomputed from the profile (it is deterministic) and must match stage for stage.
    """
    if llm is None:
        return rm
    match = classify_track(rm.profile.background, rm.profile.goal)
    planned = plan_stages(rm.profile, match.track, match.no_code)
    if [ps.template.id for ps in planned] != [s.id for s in rm.stages]:
        return rm  # built by another catalogue version: keep it as it is
    prose = write_prose(rm.profile, rm.track, planned, llm, timeout=prose_timeout, max_tokens=prose_max_tokens)
    if prose.source != "llm":
        return rm
    return _assemble(rm.profile, rm.track, planned, [s.citations for s in rm.stages], prose)


def _assemble(profile: Profile, track: str, planned: list[PlannedStage], citations: list[list[StageCitation]],
              prose: Prose) -> Roadmap:
    lang = profile.lang or "en"
    stages = [
        Stage(id=ps.template.id, title=ps.template.title_in(lang), start_week=ps.start_week, end_week=ps.end_week,
              hours=ps.hours, topics=ps.topics, tasks=ps.tasks, citations=cites, rationale=why)
        for ps, cites, why in zip(planned, citations, prose.rationales)
    ]
    fields = dict(profile=profile, track=track, total_weeks=profile.weeks, stages=stages,
                  total_hours=sum(s.hours for s in stages), intro=prose.intro, prose=prose.source)
    draft = Roadmap(**fields)
    return Roadmap(**fields, markdown=render_markdown(draft))
