"""The time skeleton of a roadmap: how many stages, which ones, and which weeks each gets.

Everything here is arithmetic over the profile and the catalogue; nothing a model says can
change it.

* Stage count grows with the plan's length (``STAGES_BY_WEEKS``: 1 month -> 2, 3 months -> 4,
  6 -> 5, 12 -> 7, 24 -> 9) and is capped so each stage gets at least ``MIN_STAGE_HOURS`` of
  study and one week, and by the templates the track has for the learner's level.
* Which templates: the track's lowest priorities (advanced learners use their own priority
  column, and templates not meant for their level are dropped); a template whose keywords
  appear in the goal is pulled ``GOAL_BOOST`` forward. The chosen ones keep teaching order, so a
  longer plan is the shorter one with deeper stages and projects inserted, not stretched.
* Weeks: every stage gets one week, the rest is shared by template weight (largest remainder),
  so stages are contiguous and cover week 1..weeks; hours = weeks × hours_per_week.
* Topics and tasks shown grow with a stage's hours (``HOURS_PER_TASK``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from bot.features.roadmap.catalog import TEMPLATES, TRACKS, Template
from bot.features.roadmap.models import Profile

# (max weeks, stages): the first row whose bound is >= the plan's weeks.
STAGES_BY_WEEKS = ((2, 1), (6, 2), (10, 3), (17, 4), (30, 5), (43, 6), (60, 7), (80, 8), (10**6, 9))
MIN_STAGE_HOURS = 6
HOURS_PER_TASK = 12
GOAL_BOOST = 2.0


@dataclass
class PlannedStage:
    template: Template
    start_week: int
    end_week: int
    hours: int
    topics: list[str]
    tasks: list[str]

    @property
    def weeks(self) -> int:
        return self.end_week - self.start_week + 1


def stage_count(weeks: int, budget_hours: int) -> int:
    by_weeks = next(n for bound, n in STAGES_BY_WEEKS if weeks <= bound)
    return max(1, min(by_weeks, weeks, budget_hours // MIN_STAGE_HOURS))


def _goal_mentions(t: Template, goal: str) -> bool:
    g = goal.lower()
    return any(k.lower() in g for k in t.keywords)


def candidates(track: str, level: str, no_code: bool, goal: str = "") -> list[tuple[Template, float]]:
    """The track's templates usable at this level, with their effective priority, in teaching order."""
    out = []
    for tid, prio, prio_adv in TRACKS[track]:
        t = TEMPLATES[tid]
        if level not in t.levels or (no_code and t.needs_code):
            continue
        p = prio_adv if level == "advanced" and prio_adv is not None else prio
        if goal and _goal_mentions(t, goal):
            p -= GOAL_BOOST
        out.append((t, p))
    return out


def choose_templates(track: str, level: str, no_code: bool, goal: str, n: int) -> list[Template]:
    pool = candidates(track, level, no_code, goal)
    ranked = sorted(range(len(pool)), key=lambda i: (pool[i][1], i))
    keep = sorted(ranked[:n])
    return [pool[i][0] for i in keep]


def allocate_weeks(weights: list[float], total: int) -> list[int]:
    n = len(weights)
    if n == 0 or total < n:
        raise ValueError(f"cannot give {n} stages at least one week each in {total} weeks")
    spare = total - n
    wsum = sum(weights)
    shares = [spare * w / wsum for w in weights]
    weeks = [1 + math.floor(s) for s in shares]
    left = total - sum(weeks)
    # Largest remainder; ties go to the earlier stage so the result is deterministic.
    order = sorted(range(n), key=lambda i: (-(shares[i] - math.floor(shares[i])), i))
    for i in order[:left]:
        weeks[i] += 1
    return weeks


def _shown(items: list[str], n: int) -> list[str]:
    return items[: max(1, min(len(items), n))]


def plan_stages(profile: Profile, track: str, no_code: bool = False) -> list[PlannedStage]:
    n = stage_count(profile.weeks, profile.budget_hours)
    chosen = choose_templates(track, profile.level, no_code, profile.goal, n)
    if not chosen:
        raise ValueError(f"no stage templates for track {track!r} at level {profile.level!r}")
    return schedule(profile, chosen)


def schedule(profile: Profile, chosen: list[Template]) -> list[PlannedStage]:
    """Weeks, hours, topics and tasks for stages already chosen (catalogue templates or curriculum
    stages): the same allocation whatever they came from."""
    lang = profile.lang or "en"
    weeks_total = profile.weeks
    spans = allocate_weeks([t.weight for t in chosen], weeks_total)
    stages, start = [], 1
    for t, w in zip(chosen, spans):
        hours = w * profile.hours_per_week
        stages.append(PlannedStage(
            template=t, start_week=start, end_week=start + w - 1, hours=hours,
            topics=_shown(t.topics_in(lang), 2 + w // 3),
            tasks=_shown(t.tasks_in(lang), math.ceil(hours / HOURS_PER_TASK)),
        ))
        start += w
    return stages
