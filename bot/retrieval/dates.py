"""What a question says about time, for a library of dated passages (newsletter issues).

"周刊第一次推荐 promptingguide.ai 时怎么介绍它？" asks for the earliest passage about the site;
"最近几期推荐了哪些开源 RAG 工具？" prefers the newest; "2024年推荐过哪些 Rust 工具？" keeps 2024.
Ranking alone knows none of that: ``date_intent`` reads it from the words (zh/en) and
``date_order`` applies it to passages already found relevant (``Retriever.by_date``).

Pure functions: no index, no model. Dates are ISO days ("2024-05-17"), which sort as strings.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

NEWEST, OLDEST = "newest", "oldest"

# "最近邻" (nearest neighbour) and "最新鲜" are not about time; "first" alone is too common
# ("first principles", "the first step"): only "first time/first recommended..." count.
_OLDEST = re.compile(
    r"第一次|首次|头一次|第一回|最早|最初"
    r"|\b(?:for\s+the\s+)?first\s+time\b|\bearliest\b|\bfirst\b(?=\s+(?:recommend|mention|introduc|feature|cover|appear|link|share))"
    r"|\boriginally\b",
    re.I,
)
_NEWEST = re.compile(
    r"最近(?:几|一|这)?(?:期|次|周)?(?!邻)|最新(?:几|一)?期?(?!鲜)|近期|近来|这几期|新近"
    r"|\b(?:the\s+)?(?:latest|newest|most\s+recent|recent(?:ly)?|lately)\b(?:\s+(?:few\s+)?issues?\b)?"
    r"|\blast\s+(?:few\s+)?issues?\b",
    re.I,
)
_YEAR = r"((?:19|20)\d\d)"
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
# Year (and month) ranges, most specific first. Each: pattern -> kind.
_SINCE_ZH = re.compile(_YEAR + r"\s*年\s*(?:以来|之后|以后|后|起)")
_BEFORE_ZH = re.compile(_YEAR + r"\s*年\s*(?:以前|之前|前)")
_MONTH_ZH = re.compile(_YEAR + r"\s*年\s*(\d{1,2})\s*月(?:份)?")
_YEAR_ZH = re.compile(_YEAR + r"\s*年(?:度|间|里|中)?")
_SINCE_EN = re.compile(r"\b(since|after|from)\s+" + _YEAR + r"\b", re.I)
_BEFORE_EN = re.compile(r"\b(?:before|prior\s+to|until)\s+" + _YEAR + r"\b", re.I)
_MONTH_EN = re.compile(r"\b(?:in\s+)?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+" + _YEAR + r"\b", re.I)
_YEAR_EN = re.compile(r"\b(?:in|during|of|throughout)\s+" + _YEAR + r"\b", re.I)
_THIS_YEAR = re.compile(r"今年|本年|\bthis\s+year\b", re.I)
_LAST_YEAR = re.compile(r"去年|上一年|\blast\s+year\b", re.I)


@dataclass(frozen=True)
class DateIntent:
    """``order``: NEWEST or OLDEST preferred among relevant passages (None: ranking decides);
    ``start``/``end``: the period asked for, start inclusive, end exclusive (None: open);
    ``topic``: the question without its time words, what the passages must be about."""

    order: str | None = None
    start: str | None = None
    end: str | None = None
    topic: str = ""

    def covers(self, day: str) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day < self.end)

    @property
    def period(self) -> bool:
        return self.start is not None or self.end is not None


def _jan1(year: int) -> str:
    return f"{year:04d}-01-01"


def _month_range(year: int, month: int) -> tuple[str, str] | None:
    if not 1 <= month <= 12:
        return None
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}-01", f"{nxt[0]:04d}-{nxt[1]:02d}-01"


def _period(q: str, today: dt.date) -> tuple[str | None, str | None, list[tuple[int, int]]]:
    """(start, end, spans of the words that said so)."""
    for rx, kind in ((_SINCE_ZH, "since"), (_BEFORE_ZH, "before"), (_MONTH_ZH, "month"), (_YEAR_ZH, "year"),
                     (_SINCE_EN, "since_en"), (_BEFORE_EN, "before"), (_MONTH_EN, "month_en"), (_YEAR_EN, "year")):
        m = rx.search(q)
        if not m:
            continue
        if kind == "since":
            return _jan1(int(m.group(1))), None, [m.span()]
        if kind == "since_en":  # "after 2023" starts in 2024; "since/from 2023" in 2023
            y = int(m.group(2))
            return _jan1(y + 1 if m.group(1).lower() == "after" else y), None, [m.span()]
        if kind == "before":
            return None, _jan1(int(m.group(1))), [m.span()]
        if kind in ("month", "month_en"):
            y, mo = (int(m.group(1)), int(m.group(2))) if kind == "month" else (int(m.group(2)), _MONTHS[m.group(1)[:3].lower()])
            r = _month_range(y, mo)
            if r:
                return r[0], r[1], [m.span()]
            continue
        y = int(m.group(1))
        return _jan1(y), _jan1(y + 1), [m.span()]
    for rx, y in ((_THIS_YEAR, today.year), (_LAST_YEAR, today.year - 1)):
        m = rx.search(q)
        if m:
            return _jan1(y), _jan1(y + 1), [m.span()]
    return None, None, []


def date_intent(question: str, today: dt.date | None = None) -> DateIntent | None:
    """The time the question asks about, or None when it says nothing about time.
    ``today`` dates "今年 / last year" (default: the clock)."""
    q = question or ""
    start, end, spans = _period(q, today or dt.date.today())
    oldest = _OLDEST.search(q)
    newest = _NEWEST.search(q)
    order = None
    if oldest and (not newest or oldest.start() <= newest.start()):
        order, spans = OLDEST, [*spans, oldest.span()]
    elif newest:
        order, spans = NEWEST, [*spans, newest.span()]
    if order is None and start is None and end is None:
        return None
    topic = q
    for a, b in sorted(spans, reverse=True):
        topic = topic[:a] + " " + topic[b:]
    return DateIntent(order=order, start=start, end=end, topic=" ".join(topic.split()))


def in_period(order: list[str], dates: dict[str, str], intent: DateIntent) -> list[str]:
    """The ids of ``order`` dated inside the period asked for, in their order. When none is, the
    order is kept whole: a library with nothing from that time still answers what it can."""
    if not intent.period:
        return order
    kept = [c for c in order if c in dates and intent.covers(dates[c])]
    return kept or order


def date_order(order: list[str], dates: dict[str, str], relevance: dict[str, float], intent: DateIntent,
               share: float = 0.6) -> list[str]:
    """``order`` with its relevant passages sorted by date, as the question asks.

    Relevant: ``relevance`` at least ``share`` of the best one's (how much of the topic a passage
    holds). Among those, dated passages come first, newest or oldest first, the ranking breaking
    ties; undated relevant ones follow, then everything else in its ranked order. "First time X" is
    then the earliest passage about X, not the best-worded one."""
    if intent.order is None or not relevance:
        return order
    best = max(relevance.values())
    if best <= 0:
        return order
    relevant = [c for c in order if relevance.get(c, 0.0) >= share * best]
    dated = [c for c in relevant if c in dates]
    if not dated:
        return order
    newest = intent.order == NEWEST
    # ``dated`` is in ranked order and the sort is stable (reverse=True too): ties stay best-first.
    dated.sort(key=lambda c: dates[c], reverse=newest)
    chosen = set(relevant)
    return dated + [c for c in relevant if c not in dates] + [c for c in order if c not in chosen]
