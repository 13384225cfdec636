"""Where a roadmap's stages come from: a curriculum found in the library, the catalogue, or nowhere.

``plan_roadmap`` is deterministic (the same profile and library give the same plan), so a plan
shown at once can be reworded later stage for stage (``build.reword_roadmap``).

* Each part of the goal ("Kubernetes 运维和钢琴" has two) is covered when a curriculum matches it
  (bot.features.roadmap.library) or it names the catalogue's scope; the rest become ``gaps``.
* Nothing covered: no stages, ``covered: false``; never stages from an unrelated field.
* Stages: the matching curricula's stages (best curriculum first) when they serve the goal at least as
  well as the learner's catalogue track; otherwise the catalogue track as before.
* A curriculum's stages are chosen as the catalogue's are: as many as ``stage_count`` allows; for
  more stages than that, the ones closest to the goal and background, in the curriculum's order
  (a beginner always starts at its stage 1; an advanced learner's first stage counts less; a
  learner who does not code skips stages about code while any others remain). Each stage's length
  is its written duration (``allocate_weeks``' weights), so "2-3个月" gets more weeks than "1-2个月".
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.features.roadmap.catalog import SCOPE, TEMPLATES, TRACKS, Template
from bot.features.roadmap.library import Library, catalogue_hits, gap_for, goal_parts, needs_code, term_hits
from bot.features.roadmap.models import Profile, StageCitation, StageOrigin
from bot.features.roadmap.plan import PlannedStage, plan_stages, schedule, stage_count
from bot.features.roadmap.tracks import classify_track

MAX_CURRICULA = 3
BEGINNER_FIRST_STAGE = 1.0  # relevance bonus: a beginner never skips a curriculum's stage 1
ADVANCED_FIRST_STAGE = -0.05


@dataclass
class RoadmapPlan:
    track: str
    no_code: bool
    planned: list[PlannedStage] = field(default_factory=list)
    origins: list[StageOrigin | str] = field(default_factory=list)  # per stage: curriculum or "catalogue"
    own: list[list[StageCitation]] = field(default_factory=list)  # per stage: the curriculum passage itself
    gaps: list[dict[str, str]] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return bool(self.planned)


def _stage_id(c: dict[str, Any], s: dict[str, Any]) -> str:
    key = c.get("doc_hash") or hashlib.sha256(str(c.get("path")).encode()).hexdigest()
    return f"lib-{key[:10]}-{s['order']}"


def stage_template(c: dict[str, Any], s: dict[str, Any], weight: float) -> Template:
    """A curriculum stage as a template: its words as written (both languages show the source's),
    tasks from the stage's own task list or one per topic, each with a deliverable."""
    topics = tuple((t, t) for t in s["topics"]) or ((s["title"], s["title"]),)
    tasks = [(f"完成：{t}", "完成记录与笔记", f"Do: {t}", "a record of the result and notes")
             for t in s["tasks"]]
    tasks += [(f"学习「{t}」并用自己的话整理要点", "一页笔记",
               f"Study “{t}” and sum it up in your own words", "a one-page note") for t, _ in topics]
    tasks.append((f"用本阶段所学完成一个小练习：{s['title']}", "练习记录",
                  f"Apply this stage in a small exercise: {s['title']}", "an exercise log"))
    # Passages elsewhere in the library back the stage when they name one of its topics' pieces
    # ("Pod、Deployment 与 ReplicaSet" -> Pod, Deployment, ReplicaSet).
    pieces = [p.strip() for t in [s["title"], *s["topics"]]
              for p in re.split(r"[、，,/；;：:()（）]|\s与\s?|\band\b|和", t)]
    keywords = tuple(dict.fromkeys(p for p in pieces if len(p) >= 2))
    return Template(id=_stage_id(c, s), title=(s["title"], s["title"]), topics=topics, tasks=tuple(tasks),
                    queries=(f"{s['title']} {' '.join(s['topics'][:4])}",), keywords=keywords,
                    source=f"{c.get('path')} › {s.get('section') or s['heading']}", weight=weight)


def _weights(stages: list[dict[str, Any]]) -> list[float]:
    if all(s.get("weeks") for s in stages):
        return [float(s["weeks"]) for s in stages]
    if all(s.get("hours") for s in stages):
        return [float(s["hours"]) for s in stages]
    return [1.0] * len(stages)


@lru_cache(maxsize=1)
def catalogue_words() -> str:
    """Every word of the catalogue (titles, topics, keywords), for goal terms to be found in."""
    return " ".join(f"{' '.join(t.title)} {' '.join(' '.join(p) for p in t.topics)} {' '.join(t.keywords)}"
                    for t in TEMPLATES.values())


def _track_text(track: str) -> str:
    return "；".join(f"{TEMPLATES[t].title[0]} {TEMPLATES[t].title[1]}" for t, _, _ in TRACKS[track])


def _prefer_catalogue(profile: Profile, library: Library, track: str, best_margin: float | None) -> bool:
    """Both could serve: the catalogue track wins only when the goal is closer to it."""
    if best_margin is None:
        return True  # words alone cannot weigh a role-specific track against a syllabus: keep the track
    cat = library.margins(profile.goal, [_track_text(track)])[0]
    return cat is not None and cat > best_margin


def _choose_stages(profile: Profile, library: Library, curricula: list[dict[str, Any]], no_code: bool,
                   n: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    pool: list[tuple[dict, dict, float]] = []
    query = f"{profile.goal} {profile.background}".strip()
    for c in curricula:
        rel = library.stage_relevance(query, c)
        for s, r in zip(c["stages"], rel):
            if s["order"] == 1:
                r += BEGINNER_FIRST_STAGE if profile.level == "beginner" else (
                    ADVANCED_FIRST_STAGE if profile.level == "advanced" else 0.0)
            pool.append((c, s, r))
    if no_code and any(not needs_code(s) for _, s, _ in pool):
        pool = [p for p in pool if not needs_code(p[1])]
    ranked = sorted(range(len(pool)), key=lambda i: (-pool[i][2], i))
    keep = sorted(ranked[:n])
    return [(pool[i][0], pool[i][1]) for i in keep]


def plan_roadmap(profile: Profile, library: Library | None = None) -> RoadmapPlan:
    lib = library or Library()
    match = classify_track(profile.background, profile.goal)
    lang = profile.lang or "en"
    plan = RoadmapPlan(match.track, match.no_code)

    # Coverage, part by part. A part of a goal the catalogue covers ("用AI做小红书和B站内容") is
    # covered by the catalogue's own words too ("B站" is in its topics); "钢琴" is in none of them.
    parts = goal_parts(profile.goal)
    in_scope = bool(catalogue_hits(profile.goal, SCOPE))
    matched: list[dict[str, Any]] = []
    covered_by_catalogue = False
    for part in parts:
        found = lib.match(part)
        if found:
            matched += [c for c, _ in found[:1] if c not in matched]
        by_catalogue = bool(catalogue_hits(part, SCOPE)) or (in_scope and bool(term_hits(part, catalogue_words())))
        covered_by_catalogue |= by_catalogue
        if not found and not by_catalogue:
            plan.gaps.append(gap_for(part, lang))
    whole = lib.match(profile.goal)
    best_margin = whole[0][1].margin if whole else None
    matched = [c for c, _ in whole[:1]] + [c for c in matched if not whole or c is not whole[0][0]]
    matched = matched[:MAX_CURRICULA]

    if not matched and not covered_by_catalogue:
        return plan  # not covered: no stages from an unrelated field
    if not matched or (covered_by_catalogue and _prefer_catalogue(profile, lib, match.track, best_margin)):
        plan.planned = plan_stages(profile, match.track, match.no_code)
        plan.origins = ["catalogue"] * len(plan.planned)
        plan.own = [[] for _ in plan.planned]
        return plan

    n = stage_count(profile.weeks, profile.budget_hours)
    chosen = _choose_stages(profile, lib, matched, match.no_code, n)
    weights = _weights([s for _, s in chosen])
    templates = [stage_template(c, s, w) for (c, s), w in zip(chosen, weights)]
    plan.planned = schedule(profile, templates)
    for c, s in chosen:
        section = s.get("section") or s["heading"]
        plan.origins.append(StageOrigin(path=c["path"], section=section, title=c.get("title") or "", stage=s["order"]))
        # The stage's own heading passage: the citation opens the curriculum where the stage is laid out.
        plan.own.append([StageCitation(path=c["path"], title=c.get("title") or "", page=s.get("page"),
                                       section=s.get("section"), chunk_id=(s.get("chunk_ids") or [""])[0])])
    return plan
