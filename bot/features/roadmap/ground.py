"""Find library passages that back each stage, and turn the best ones into citations.

The retriever ranks by similarity to a query; a roadmap needs passages that are *about* the
stage. So hits are re-ranked by their retrieval score and by how many of the template's
keywords they contain, passages already cited by an earlier stage are pushed down (a plan that
cites one paragraph nine times says nothing), and keyword-matching passages beat ones that only
happen to be near the query.
"""
from __future__ import annotations

from collections.abc import Callable

from bot.core.types import Hit
from bot.features.roadmap.catalog import Template
from bot.features.roadmap.models import StageCitation

SearchFn = Callable[[str, int], list[Hit]]

MAX_CITATIONS = 3
KEYWORDS_FOR_FULL_MATCH = 3
REUSE_PENALTY = 0.2
KEEP_RATIO = 0.6  # further citations must score at least this share of the best one


class RoadmapError(Exception):
    """The roadmap cannot be grounded (search failed or the library has nothing); str() says what to do."""


def keyword_matches(t: Template, hit: Hit) -> int:
    c = hit.chunk
    hay = f"{c.section or ''} {c.title or ''} {c.text}".lower()
    return sum(1 for k in {k.lower() for k in t.keywords} if k in hay)


def _search_all(t: Template, search: SearchFn, k: int, cache: dict[str, list[Hit]]) -> list[Hit]:
    hits: dict[str, Hit] = {}
    queries = list(t.queries) + [t.title[0], t.title[1]]  # titles only when the queries find nothing
    for i, q in enumerate(queries):
        if i >= len(t.queries) and hits:
            break
        if q not in cache:
            try:
                cache[q] = list(search(q, k) or [])
            except Exception as e:  # noqa: BLE001 - any retriever failure means the plan can't be grounded
                raise RoadmapError(f"library search failed ({type(e).__name__}: {e}); is the index built? "
                                   "Run `studybot ingest` first.") from e
        for h in cache[q]:
            key = h.chunk.id or f"{h.chunk.path}#{h.chunk.ordinal}"
            if key not in hits or h.score > hits[key].score:
                hits[key] = h
    return list(hits.values())


def ground_stage(t: Template, search: SearchFn, k: int, used: set[str],
                 cache: dict[str, list[Hit]] | None = None) -> list[StageCitation]:
    """Citations for one stage (at least one, or RoadmapError); adds the cited chunk ids to ``used``."""
    hits = _search_all(t, search, k, {} if cache is None else cache)
    if not hits:
        raise RoadmapError(f"the library returned no passages for stage {t.title[1]!r}; "
                           "add sources and run `studybot ingest`.")
    scored = []
    for h in hits:
        m = keyword_matches(t, h)
        base = 0.45 * max(0.0, min(1.0, float(h.score))) + 0.55 * min(1.0, m / KEYWORDS_FOR_FULL_MATCH)
        if h.chunk.id in used:
            base -= REUSE_PENALTY
        scored.append((base, m, h))
    if any(m > 0 for _, m, _ in scored):
        scored = [s for s in scored if s[1] > 0]
    scored.sort(key=lambda s: (-s[0], s[2].chunk.path, s[2].chunk.ordinal))
    best = scored[0][0]
    out: list[StageCitation] = []
    seen: set[tuple] = set()
    for score, _, h in scored:
        c = h.chunk
        key = (c.path, c.section, c.page)
        if key in seen:
            continue
        if out and (len(out) >= MAX_CITATIONS or score < KEEP_RATIO * best):
            break
        seen.add(key)
        used.add(c.id)
        out.append(StageCitation(path=c.path, title=c.title, page=c.page, section=c.section, chunk_id=c.id))
    return out
