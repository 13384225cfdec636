"""The only words a model may write in a roadmap: a one-line intro and a one-line "why" per stage.

The model never sees week or hour numbers, its output is cut at a token budget and a
wall-clock timeout, and any line that states a duration or a stage count is replaced by the
templated line — the app owns time, so prose that contradicts it is discarded, not trusted.
Templated prose is always computed first, so a missing, slow or failing model still yields a
complete plan.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

from bot.core.text import detect_lang, has_cjk
from bot.features.roadmap.models import Profile
from bot.features.roadmap.plan import PlannedStage
from bot.features.roadmap.render import track_label

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 40.0
INTRO_TOKENS, LINE_TOKENS, MAX_TOKENS = 60, 45, 600
CHARS_PER_TOKEN = 4
LINE_CHARS = {"zh": 80, "en": 220}

_LINE = re.compile(r"^[\s>*#\-]*(?:第\s*)?(\d{1,2})\s*(?:阶段)?\s*[:：.、)）]\s*(.+?)\s*$")
_TIME_CLAIM = re.compile(
    r"\d+(?:\.\d+)?\s*(?:[-–~到至]\s*\d+\s*)?(?:个)?\s*(?:周|星期|小时|月|天|年|阶段|weeks?\b|hours?\b|hrs?\b|h\b|"
    r"months?\b|days?\b|years?\b|stages?\b|phases?\b)"
    r"|[一二两三四五六七八九十百半]+\s*(?:个)?\s*(?:周|星期|小时|月|天|年)|[一二两三四五六七八九十]+个阶段"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty)[\s-]+(?:weeks?|hours?|months?|stages?|phases?)\b",
    re.IGNORECASE,
)


@dataclass
class Prose:
    intro: str
    rationales: list[str]
    source: str = "template"  # llm when at least one model line was kept


def _head(topic: str, mid_sentence: bool = False) -> str:
    head = re.split(r"[：:（(]", topic, maxsplit=1)[0].strip()
    first = head.split(" ", 1)[0]
    if mid_sentence and first[1:].islower():  # "Calling an API" -> "calling an API"; "LoRA", "RAG" stay
        head = head[0].lower() + head[1:]
    return head


def template_prose(profile: Profile, track: str, stages: list[PlannedStage]) -> Prose:
    lang = profile.lang or "en"
    zh = lang == "zh"
    n = len(stages)
    who = profile.background or track_label(track, lang)
    first, last = stages[0].template.title_in(lang), stages[-1].template.title_in(lang)
    if zh:
        span = f"从「{first}」开始，到「{last}」收尾" if n > 1 else f"集中在「{first}」"
        intro = (f"这份路线图为「{who}」设计，目标是「{profile.goal}」。计划{span}；"
                 "每个阶段都列出学习主题、带交付物的任务，以及资料库中的参考段落。")
    else:
        span = f"starts with “{first}” and ends with “{last}”" if n > 1 else f"focuses on “{first}”"
        intro = (f"A plan towards “{profile.goal}”, shaped for your background ({who}). It {span}; every stage "
                 "lists topics, tasks with deliverables, and supporting passages from the library.")
    lines = []
    for i, s in enumerate(stages):
        topic = _head(s.topics[0], mid_sentence=not zh)
        prev = stages[i - 1].template.title_in(lang) if i else ""
        if n == 1:
            line = (f"时间有限，先集中做好一件事：{topic}，并完成下面的交付物。" if zh else
                    f"With limited time, focus on one thing — {topic} — and finish the deliverables below.")
        elif i == 0:
            line = (f"起步阶段：先掌握{topic}，后面的阶段都建立在它之上。" if zh else
                    f"The starting point: get comfortable with {topic}; every later stage builds on it.")
        elif i == n - 1:
            line = (f"收尾阶段：在「{prev}」之后，把前面的积累整合成可以展示的成果。" if zh else
                    f"The finish: after “{prev}”, turn what you have built up into work you can show.")
        else:
            line = (f"在「{prev}」的基础上转向{topic}，用任务产出把所学落地。" if zh else
                    f"Building on “{prev}”, move on to {topic} and make it concrete through the tasks.")
        lines.append(line)
    return Prose(intro, lines, "template")


def _messages(profile: Profile, track: str, stages: list[PlannedStage]) -> list[Any]:
    from langchain_core.messages import HumanMessage, SystemMessage

    lang = profile.lang or "en"
    outline = "\n".join(f"{i}. {s.template.title_in(lang)} — {'; '.join(_head(t) for t in s.topics[:3])}"
                        for i, s in enumerate(stages, 1))
    if lang == "zh":
        system = ("你是学习规划助手，只为已经定好的学习计划写简短说明。不要提及任何周数、小时数、月数或阶段数量，"
                  "不要增加、删除或合并阶段。严格按格式输出：第一行“0: 一句导语”，之后每个阶段一行“序号: 一句话说明"
                  "这个阶段为什么适合这位学习者”。每行不超过40个字，用中文，不要输出其他内容。")
        user = (f"学习者背景：{profile.background or track_label(track, lang)}\n目标：{profile.goal}\n"
                f"水平：{profile.level}\n阶段：\n{outline}")
    else:
        system = ("You write short prose for a study plan that is already fixed. Never mention numbers of weeks, "
                  "hours, months or stages, and never add, drop or merge stages. Output exactly: first line "
                  "'0: one-sentence intro', then one line per stage 'N: one sentence on why this stage suits this "
                  "learner'. At most 25 words per line, in English, nothing else.")
        user = (f"Learner background: {profile.background or track_label(track, lang)}\nGoal: {profile.goal}\n"
                f"Level: {profile.level}\nStages:\n{outline}")
    return [SystemMessage(content=system), HumanMessage(content=user)]


def _capped(llm: Any, max_tokens: int) -> Any:
    """Ask the provider itself to stop early too, when its model class exposes a length field."""
    fields = getattr(type(llm), "model_fields", {})
    for name in ("max_tokens", "num_predict", "max_new_tokens", "max_output_tokens"):
        if name in fields:
            cur = getattr(llm, name, None)
            try:
                capped = min(cur, max_tokens) if isinstance(cur, int) and cur > 0 else max_tokens
                return llm.model_copy(update={name: capped})
            except Exception:  # noqa: BLE001 - the stream cut-off below still enforces the budget
                return llm
    return llm


def _stream_text(llm: Any, messages: list[Any], max_tokens: int, timeout: float) -> tuple[str, bool]:
    """(text, complete): runs the stream in a daemon thread so a stalled provider can't hold the plan."""
    parts: list[str] = []
    state: dict[str, Any] = {"done": False, "cut": False, "error": None}
    stop = threading.Event()
    lock = threading.Lock()

    def run() -> None:
        n = chars = 0
        try:
            for chunk in llm.stream(messages):
                if stop.is_set():
                    state["cut"] = True
                    break
                piece = chunk.content if isinstance(chunk.content, str) else ""
                with lock:
                    parts.append(piece)
                n += 1
                chars += len(piece)
                if n >= max_tokens or chars >= max_tokens * CHARS_PER_TOKEN:
                    state["cut"] = True
                    break
        except Exception as e:  # noqa: BLE001 - reported to the caller below
            state["error"] = e
        finally:
            state["done"] = True

    worker = threading.Thread(target=run, name="roadmap-prose", daemon=True)
    worker.start()
    worker.join(timeout)
    stop.set()  # a stream still running stops at its next chunk (and releases the local model's lock)
    with lock:
        text = "".join(parts)
    if state["error"] is not None and not text:
        raise state["error"]
    if not state["done"]:
        log.warning("roadmap prose: the LLM did not finish within %.0fs; keeping complete lines only", timeout)
    return text, bool(state["done"] and not state["cut"] and state["error"] is None)


def _clean(line: str, lang: str) -> str | None:
    line = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", line)
    line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)
    line = re.sub(r"<[^>]*>|[*_`#|<>]", "", line)
    line = re.sub(r"\s+", " ", line).strip().strip("\"'“”「」")
    if not line or _TIME_CLAIM.search(line):
        return None
    # English prose may quote a Chinese source title; it may not be Chinese prose.
    if (lang == "zh" and not has_cjk(line)) or (lang == "en" and detect_lang(line) == "zh"):
        return None
    limit = LINE_CHARS[lang]
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def parse_lines(text: str, n: int, lang: str, complete: bool) -> dict[int, str]:
    if not complete:
        text = text[: text.rfind("\n")] if "\n" in text else ""  # a cut-off last line is half a sentence
    out: dict[int, str] = {}
    for raw in text.splitlines():
        m = _LINE.match(raw)
        if not m:
            continue
        i = int(m.group(1))
        if 0 <= i <= n and i not in out:
            cleaned = _clean(m.group(2), lang)
            if cleaned:
                out[i] = cleaned
    return out


def write_prose(profile: Profile, track: str, stages: list[PlannedStage], llm: Any = None, *,
                timeout: float = DEFAULT_TIMEOUT, max_tokens: int | None = None) -> Prose:
    prose = template_prose(profile, track, stages)
    if llm is None:
        return prose
    budget = max_tokens or min(MAX_TOKENS, INTRO_TOKENS + LINE_TOKENS * len(stages))
    try:
        text, complete = _stream_text(_capped(llm, budget), _messages(profile, track, stages), budget, timeout)
    except Exception as e:  # noqa: BLE001 - any provider failure falls back to templated prose
        log.warning("roadmap prose: LLM failed (%s: %s); using templated prose", type(e).__name__, e)
        return prose
    lines = parse_lines(text, len(stages), profile.lang or "en", complete)
    if not lines:
        return prose
    intro = lines.get(0, prose.intro)
    rationales = [lines.get(i + 1, r) for i, r in enumerate(prose.rationales)]
    return Prose(intro, rationales, "llm")
