"""Find a learning path laid out in a document: numbered stages, phases, weeks or months with
durations and topics ("第二阶段：文本生成 (2-3个月)", "阶段1：工具掌握期（1-3个月）",
"Week 1: Pods", "Phase 2 (2 weeks)", "Month 1-2 — Basics").

Pure: a loaded document and its chunks in, a plain dict (or None) out; ingest stores it in the
manifest with the document, and roadmaps read it back (bot.features.roadmap.library).

What makes a curriculum (and what keeps a news item or a changelog out):
* A stage header is a line of its own that *starts* with the numbered unit, is short, and is not a
  sentence ("第二阶段的工作将于明年展开。" and "Phase 2 of the migration shipped." are prose).
* At least two headers of one kind, numbered 1, 2, 3… without holes (ranges such as "Week 3-4"
  continue the count).
* Time: week and month units carry their own duration; stages, phases, steps and modules need a
  written duration ("(2-3个月)", "(2 weeks)") on at least half of them.
* Every stage has at least one topic line under it.
"""
from __future__ import annotations

import re
from typing import Any

from bot.core.text import squash
from bot.core.types import Chunk, LoadedDoc

# Bump when detection changes: ingest then re-reads every indexed file once (vectors are kept).
CURRICULA_VERSION = "1"

MAX_HEADER_CHARS = 80
MAX_TOPICS = 10
MAX_STAGE_LINES = 60  # a stage with no section to end it (PDF text) stops here
WEEKS_PER_MONTH = 52 / 12

_ZH_NUM = "零一二三四五六七八九十"
_NUM_ZH = rf"[{_ZH_NUM}\d]{{1,3}}"
_EN_WORDS = {w: i for i, w in enumerate("one two three four five six seven eight nine ten eleven twelve".split(), 1)}
_NUM_EN = r"\d{1,2}|" + "|".join(_EN_WORDS)

# unit word -> kind: weeks and months are time by themselves; the rest are ordered steps.
_KIND = {"周": "week", "星期": "week", "月": "month", "个月": "month", "week": "week", "month": "month"}

_ZH_HEADER = re.compile(
    rf"^(?:第\s*(?P<n>{_NUM_ZH})\s*(?P<unit>阶段|个月|月|周|星期|步|部分|单元|模块|期)"
    rf"|(?P<unit2>阶段|单元|模块|周|月)\s*(?P<n2>{_NUM_ZH}))"
    rf"(?:\s*[-–~至到]\s*第?\s*(?P<end>{_NUM_ZH})\s*(?:个月|月|周|星期|阶段)?)?"
    r"(?P<rest>(?:\s*[：:、.．)）\-–—\s（(].*)?)$")
_EN_HEADER = re.compile(
    rf"^(?P<unit>stage|phase|week|month|step|module|unit|level|part)s?\s+(?P<n>{_NUM_EN})"
    rf"(?:\s*(?:[-–~]|to|&|and)\s*(?P<end>{_NUM_EN}))?"
    r"(?P<rest>(?:\s*[:.)\-–—(]\s*.*|\s*))$", re.I)
_DURATION = re.compile(
    r"(?P<a>\d+(?:\.\d+)?)\s*(?:[-–~至到]\s*(?P<b>\d+(?:\.\d+)?))?\s*"
    r"(?P<u>个月|月|周|星期|天|小时|months?|weeks?|days?|hours?|hrs?|h)(?![a-z])", re.I)
_BULLET = re.compile(r"^(?P<indent>\s*)(?:[-*•·▪◦]|\d{1,2}[.)、]|[（(]\d{1,2}[)）])\s+(?P<text>.+)$")
_TASK_LABEL = re.compile(r"(任务|练习|作业|项目|实践|实战|task|exercise|assignment|project|lab|deliverable|homework)",
                         re.I)
_SENTENCE_END = re.compile(r"[。！？!?；;]$|\.\s*$")


def _num(s: str | None) -> int | None:
    if not s:
        return None
    s = s.strip().lower()
    if s.isdigit():
        return int(s)
    if s in _EN_WORDS:
        return _EN_WORDS[s]
    if s == "十":
        return 10
    if "十" in s:
        tens, _, ones = s.partition("十")
        return (_ZH_NUM.index(tens) if tens else 1) * 10 + (_ZH_NUM.index(ones) if ones else 0)
    if all(c in _ZH_NUM for c in s):
        return int("".join(str(_ZH_NUM.index(c)) for c in s))
    return None


def _clean(line: str) -> str:
    """A line without Markdown marks: '### **第一阶段：基础**' -> '第一阶段：基础'."""
    s = re.sub(r"^\s*#{1,6}\s*", "", line)
    s = s.replace("**", "").replace("__", "").strip()
    return s.strip("*_ ").strip()


def _duration_weeks(text: str) -> tuple[float | None, float | None, str | None]:
    """(weeks, hours, the text it came from) for the first duration in ``text``."""
    m = _DURATION.search(text)
    if not m:
        return None, None, None
    a = float(m.group("a"))
    b = float(m.group("b")) if m.group("b") else a
    mid = (a + b) / 2
    u = m.group("u").lower()
    if u in ("个月", "月") or u.startswith("month"):
        return mid * WEEKS_PER_MONTH, None, m.group(0)
    if u in ("周", "星期") or u.startswith("week"):
        return mid, None, m.group(0)
    if u == "天" or u.startswith("day"):
        return mid / 7, None, m.group(0)
    return None, mid, m.group(0)


def parse_header(line: str) -> dict[str, Any] | None:
    """The stage a line announces, or None when the line is not a stage header."""
    s = _clean(line)
    if not s or len(s) > MAX_HEADER_CHARS or _SENTENCE_END.search(s):
        return None
    m = _ZH_HEADER.match(s)
    if m:
        unit = m.group("unit") or m.group("unit2")
        n = _num(m.group("n") or m.group("n2"))
    else:
        m = _EN_HEADER.match(s)
        if not m:
            return None
        unit = m.group("unit").lower()
        n = _num(m.group("n"))
        if len(re.findall(r"[A-Za-z]+", m.group("rest"))) > 12:
            return None  # a sentence that happens to start with "Week 1"
    end = _num(m.group("end")) or n
    if n is None or n < 1 or end < n:
        return None
    kind = _KIND.get(unit, "step")
    rest = m.group("rest") or ""
    weeks, hours, dur_text = _duration_weeks(rest)
    title = re.sub(r"[（(][^()（）]*[)）]", " ", rest)
    if dur_text:
        title = title.replace(dur_text, " ")
    title = squash(title).strip("：:、.．)）-–—,，| ")
    if weeks is None and kind in ("week", "month"):
        span = end - n + 1
        weeks = span * (WEEKS_PER_MONTH if kind == "month" else 1)
    return {"kind": kind, "unit": unit, "n": n, "end": end, "heading": s, "title": title or s,
            "weeks": round(weeks, 2) if weeks else None, "hours": hours, "duration": dur_text,
            "explicit": dur_text is not None}


def _lines(doc: LoadedDoc) -> list[tuple[str, str | None, int | None]]:
    out = []
    for p in doc.parts:
        for line in p.text.splitlines():
            if line.strip():
                out.append((line, p.section, p.page))
    return out


def _best_run(headers: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    """The longest run of one kind numbered 1, 2, 3… (ranges continue the count)."""
    best: list[tuple[int, dict]] = []
    for kind in {h["kind"] for _, h in headers}:
        run: list[tuple[int, dict]] = []
        for i, h in headers:
            if h["kind"] != kind:
                continue
            if h["n"] == 1:
                if len(run) > len(best):
                    best = run
                run = [(i, h)]
            elif run and h["n"] == run[-1][1]["end"] + 1:
                run.append((i, h))
        if len(run) > len(best):
            best = run
    return best


def _section_prefix(section: str | None, heading: str) -> str | None:
    if not section:
        return None
    parts = [p.strip() for p in section.split(" > ")]
    for k, p in enumerate(parts):
        if _clean(p) == heading:
            return " > ".join(parts[: k + 1])
    return None


def _topic(text: str) -> str:
    t = _clean(text)
    t = re.sub(r"^(?:\d{1,2}[.)、]|[（(]\d{1,2}[)）])\s*", "", t)
    return t.strip()


def _stage_body(lines, start: int, stop: int, prefix: str | None) -> tuple[list[str], list[str]]:
    """Topics and tasks in ``lines[start:stop]``: sub-headings and top-level bullets; bullets under a
    task-like label ("任务清单：", "Project:") are tasks."""
    topics: list[str] = []
    tasks: list[str] = []
    in_tasks = False
    heads = set()
    for line, section, _ in lines[start:stop]:
        if prefix and section and not (section == prefix or section.startswith(prefix + " > ")):
            break  # the section that held the stage is over
        if section:
            heads |= {_clean(h) for h in section.split(" > ")}
        raw = line.rstrip()
        cleaned = _clean(raw)
        if not cleaned:
            continue
        label = re.match(r"^(.{1,24}?)[：:]\s*(.*)$", cleaned)
        if label and not _BULLET.match(raw):
            in_tasks = bool(_TASK_LABEL.search(label.group(1)))
            rest = label.group(2).strip()
            if rest and re.match(r"(?i)topics?|主题|内容|重点", label.group(1)):
                topics += [t.strip() for t in re.split(r"[,，、;；]", rest) if t.strip()]
            elif rest:
                (tasks if in_tasks else topics).append(rest)
            continue
        b = _BULLET.match(raw)
        if b:
            if len(b.group("indent").expandtabs(4)) >= 2:
                continue  # sub-points: the top level names the topic
            (tasks if in_tasks else topics).append(_topic(b.group("text")))
        elif cleaned in heads or len(cleaned) <= 40:
            topics.append(_topic(cleaned))
    return list(dict.fromkeys(t for t in topics if t))[:MAX_TOPICS], list(dict.fromkeys(t for t in tasks if t))


def _chunk_ids(stages: list[dict], chunks: list[Chunk]) -> None:
    """Each stage's passages: chunks that name its header (in their heading path or text), and the
    chunks after one that stay in its section or keep mentioning its topics."""
    keys = [squash(s["heading"]) for s in stages]
    cur: int | None = None
    for c in sorted(chunks, key=lambda c: c.ordinal):
        hay = squash(f"{c.section or ''} {c.text}")
        found = [k for k, key in enumerate(keys) if key in hay]
        if found:
            for k in found:
                stages[k]["chunk_ids"].append(c.id)
            cur = max(found)
            continue
        if cur is None:
            continue
        prefix = stages[cur].get("section")
        if prefix and c.section is not None:
            inside = c.section == prefix or c.section.startswith(prefix + " > ")
        else:
            inside = any(t in hay for t in stages[cur]["topics"])
        if inside:
            stages[cur]["chunk_ids"].append(c.id)
        else:
            cur = None


def detect_curriculum(doc: LoadedDoc, chunks: list[Chunk] | None = None) -> dict[str, Any] | None:
    """The learning path ``doc`` lays out, or None. ``chunks``: the document's chunks, so each stage
    records the passages it comes from."""
    lines = _lines(doc)
    headers = [(i, h) for i, (line, _, _) in enumerate(lines) if (h := parse_header(line))]
    run = _best_run(headers)
    if len(run) < 2:
        return None
    kind = run[0][1]["kind"]
    if kind == "step" and sum(1 for _, h in run if h["explicit"]) * 2 < len(run):
        return None  # ordered steps with no time attached: a list, not a study plan
    stages = []
    for k, (i, h) in enumerate(run):
        stop = run[k + 1][0] if k + 1 < len(run) else min(len(lines), i + 1 + MAX_STAGE_LINES)
        prefix = _section_prefix(lines[i][1], h["heading"])
        topics, tasks = _stage_body(lines, i + 1, stop, prefix)
        if not topics and not tasks:
            return None
        stages.append({"order": k + 1, "heading": h["heading"], "title": h["title"], "unit": h["unit"],
                       "weeks": h["weeks"], "hours": h["hours"], "duration": h["duration"],
                       "topics": topics or tasks[:MAX_TOPICS], "tasks": tasks, "section": prefix,
                       "page": lines[i][2], "chunk_ids": []})
    _chain_ranges(stages)
    if chunks:
        _chunk_ids(stages, chunks)
    return {"version": CURRICULA_VERSION, "title": doc.title, "lang": doc.lang, "kind": kind, "stages": stages}


def _chain_ranges(stages: list[dict]) -> None:
    """"阶段1（1-3个月）/ 阶段2（3-6个月）/ 阶段3（6-12个月）" is a timeline, not three durations:
    when each range starts where the last one ended, a stage lasts from the previous end to its own."""
    spans = []
    for s in stages:
        m = _DURATION.search(s["duration"] or "")
        if not m or not m.group("b"):
            return
        spans.append((float(m.group("a")), float(m.group("b")), m.group("u")))
    if len(spans) < 2 or any(spans[k][0] != spans[k - 1][1] for k in range(1, len(spans))):
        return
    prev = 0.0
    for s, (a, b, u) in zip(stages, spans):
        weeks, _, _ = _duration_weeks(f"{b - prev:g}{u}")
        s["weeks"] = round(weeks, 2) if weeks else s["weeks"]
        prev = b
