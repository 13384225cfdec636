"""Candidate stage templates, each grounded in a seed document, and the order each track uses them in.

The entries themselves are data: knowledge/catalogue.yaml (edited without touching code). Roadmaps
use them only for goals no curriculum found in the library matches (bot.features.roadmap.library).

Seeds: 000 = the AI content-creation knowledge framework (role matrix, 阶段1-3), 001 = the
seven-stage AIGC study plan, 002 = "如何进入生成式 AI 的新范式", 003 = AI big models in content
creation, 004 = AIGC-era career planning. ``source`` names the section a template is taken from;
``queries`` find its supporting passages; ``keywords`` decide whether a passage (or the learner's
goal) actually talks about the stage. ``weight`` is the stage's relative length, from the seed
durations where they exist (1-2 months -> 1.5, 2-3 months -> 2.5).

Text fields are "中文 | English"; tasks are "做什么 => 交付物 | what to do => deliverable", so a
task without a deliverable cannot be written down.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

ALL_LEVELS = frozenset({"beginner", "intermediate", "advanced"})
NOT_ADVANCED = frozenset({"beginner", "intermediate"})
BEGINNER = frozenset({"beginner"})


@dataclass(frozen=True)
class Template:
    id: str
    title: tuple[str, str]
    topics: tuple[tuple[str, str], ...]
    tasks: tuple[tuple[str, str, str, str], ...]
    queries: tuple[str, ...]
    keywords: tuple[str, ...]
    source: str
    weight: float = 2.0
    levels: frozenset[str] = ALL_LEVELS
    needs_code: bool = False

    def title_in(self, lang: str) -> str:
        return self.title[0 if lang == "zh" else 1]

    def topics_in(self, lang: str) -> list[str]:
        return [t[0 if lang == "zh" else 1] for t in self.topics]

    def tasks_in(self, lang: str) -> list[str]:
        if lang == "zh":
            return [f"{do}（交付物：{out}）" for do, out, _, _ in self.tasks]
        return [f"{do} (deliverable: {out})" for _, _, do, out in self.tasks]


def _pair(text: str) -> tuple[str, str]:
    zh, sep, en = text.partition(" | ")
    assert sep and zh.strip() and en.strip(), f"need '中文 | English': {text!r}"
    return zh.strip(), en.strip()


def _task(text: str) -> tuple[str, str, str, str]:
    zh, en = _pair(text)
    zh_do, s1, zh_out = zh.partition(" => ")
    en_do, s2, en_out = en.partition(" => ")
    assert s1 and s2 and zh_out and en_out, f"a task needs a deliverable on both sides: {text!r}"
    return zh_do.strip(), zh_out.strip(), en_do.strip(), en_out.strip()


def _t(id: str, title: str, *, source: str, topics: list[str], tasks: list[str], queries: list[str],
       keywords: list[str], weight: float = 2.0, levels: frozenset[str] = ALL_LEVELS, code: bool = False) -> Template:
    return Template(id, _pair(title), tuple(_pair(t) for t in topics), tuple(_task(t) for t in tasks),
                    tuple(queries), tuple(keywords), source, weight, levels, code)


CATALOGUE_PATH = Path(__file__).resolve().parents[3] / "knowledge" / "catalogue.yaml"
_LEVELS = {"beginner", "intermediate", "advanced"}


def load_catalogue(path: Path = CATALOGUE_PATH) -> tuple[dict[str, Template], dict[str, list], tuple[str, ...]]:
    """(templates by id, tracks, scope terms) from the YAML catalogue; a malformed entry fails loudly
    with its id, at import, rather than as a half-built plan later."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    templates: dict[str, Template] = {}
    for tid, e in (data.get("templates") or {}).items():
        levels = frozenset(e.get("levels") or ALL_LEVELS)
        assert levels <= _LEVELS, f"{tid}: unknown levels {set(levels) - _LEVELS}"
        templates[tid] = _t(str(tid), e["title"], source=e.get("source", ""), topics=e["topics"], tasks=e["tasks"],
                            queries=e["queries"], keywords=[str(k) for k in e["keywords"]],
                            weight=float(e.get("weight", 2.0)), levels=levels, code=bool(e.get("code", False)))
    tracks = {str(k): [(str(a), float(b), None if c is None else float(c)) for a, b, c in v]
              for k, v in (data.get("tracks") or {}).items()}
    return templates, tracks, tuple(str(t) for t in data.get("scope") or ())


# Read once at import: the catalogue is data that changes with a deploy, not while the app runs.
TEMPLATES, TRACKS, SCOPE = load_catalogue()


def _check() -> None:
    for track, entries in TRACKS.items():
        ids = [e[0] for e in entries]
        assert len(ids) == len(set(ids)), f"{track} lists a template twice"
        missing = set(ids) - set(TEMPLATES)
        assert not missing, f"{track} names unknown templates {missing}"


_check()
