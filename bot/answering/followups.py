"""Suggested follow-up questions, built from what retrieval found — no LLM, deterministic, instant.

The passages behind an answer sit in sections of their documents; the sections right after the
best passage and the other sections retrieval touched are what a learner is likely to ask next
("第二阶段：文本生成具体学什么？"). Only headings are used, so every suggestion is answerable
from the library.
"""
from __future__ import annotations

import re
from typing import Callable, Iterable

from bot.answering.chain import answer_lang
from bot.core.text import has_cjk
from bot.core.types import Chunk, Hit

Neighbours = Callable[[Chunk], tuple[Chunk | None, Chunk | None]]

# Headings that name document scaffolding, not a topic a learner would ask about.
_BOILERPLATE = ("附录", "参考", "关键词", "摘要", "致谢", "目录", "版权", "示例代码", "源代码", "开发环境", "运行结果",
                "代码解读", "结语", "背景介绍", "references", "appendix", "acknowledg", "contents", "license",
                "bibliography")
_NUMBERING = re.compile(r"^\s*(?:\d+(?:\.\d+)*[.、．]?|[一二三四五六七八九十]+、|[（(]?\d+[)）]|#+)\s*")
_TRAILING_PAREN = re.compile(r"\s*[（(][^()（）]{0,20}[)）]\s*$")
_QA = re.compile(r"^(?:Q|问)\s*[：:]\s*", re.I)
_STAGE_ZH = re.compile(r"阶段|步骤|第.{1,3}[步周月天章]|时期|期$")
_STAGE_EN = re.compile(r"\b(stage|phase|step|week|month|module|lesson)\b", re.I)

# Section names that only make sense inside their document: the question names the document too.
_GENERIC = ("核心概念", "问题的由来", "常见问题", "研究现状", "研究意义", "概述", "总结", "学习路径", "实际应用场景",
            "应用展望", "算法原理", "实践项目", "学习资源", "introduction", "overview", "summary", "conclusion",
            "background", "getting started", "faq")

TEMPLATES = {
    "zh": {"stage": "{h}具体学什么？", "topic": "{h}具体讲了什么？", "in_doc": "《{t}》中的“{h}”讲了什么？"},
    "en": {"stage": "What do I learn in {h}?", "topic": "What does the library say about {h}?",
           "in_doc": "What does “{t}” say under “{h}”?"},
}


def heading_of(section: str | None) -> str:
    """The leaf heading, without its numbering and trailing remark: '学习路径 > 第二阶段：文本生成 (2-3个月)'
    -> '第二阶段：文本生成'."""
    leaf = (section or "").split(" > ")[-1].strip()
    leaf = _NUMBERING.sub("", leaf).strip()
    leaf = _TRAILING_PAREN.sub("", leaf).strip()
    return leaf.strip("*_`#：:").strip()


def _usable(h: str) -> bool:
    low = h.lower()
    return 2 <= len(h) <= 40 and not any(b in low for b in _BOILERPLATE) and not h.isdigit()


def short_title(title: str) -> str:
    t = re.split(r"[：:|—]", title or "", maxsplit=1)[0].strip()
    return t if len(t) <= 24 else t[:24] + "…"


def as_question(heading: str, lang: str, title: str = "") -> str:
    if heading.endswith(("？", "?")):  # FAQ headings are questions already
        return _QA.sub("", heading)
    t = TEMPLATES[lang]
    if title and any(g in heading.lower() for g in _GENERIC):
        return t["in_doc"].format(h=heading, t=short_title(title))
    if _STAGE_ZH.search(heading) or _STAGE_EN.search(heading):
        return t["stage"].format(h=_quoted(heading, lang))
    return t["topic"].format(h=_quoted(heading, lang))


def _quoted(heading: str, lang: str) -> str:
    # An English question naming a Chinese heading reads better with the heading set off.
    return f"“{heading}”" if lang == "en" and has_cjk(heading) else heading


def _norm(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text.lower())


def candidate_headings(hits: list[Hit], neighbours: Neighbours | None = None) -> list[tuple[str, str]]:
    """Headings in the order a learner would go: what follows the best passage, the other sections
    retrieval found, then what precedes the best passage. Pairs of (heading, document title)."""
    if not hits:
        return []
    top = hits[0].chunk
    after: list[Chunk] = []
    before: list[Chunk] = []
    if neighbours is not None:
        prev, nxt = neighbours(top)
        # A long section spans several chunks: look one chunk further for the next heading.
        if nxt is not None and heading_of(nxt.section) == heading_of(top.section):
            nxt = neighbours(nxt)[1]
        after = [c for c in (nxt,) if c is not None]
        before = [c for c in (prev,) if c is not None]
    ordered = [*after, *(h.chunk for h in hits[1:]), *before]
    return [(heading_of(c.section), c.title) for c in ordered]


def suggest_followups(question: str, hits: list[Hit], *, asked: Iterable[str] = (),
                      neighbours: Neighbours | None = None, n: int = 3, lang: str | None = None) -> list[str]:
    """Up to ``n`` follow-up questions in the question's language, none already asked or answered."""
    lang = lang or answer_lang(question)
    seen_text = _norm(" ".join([question, *asked]))
    covered = {_norm(heading_of(hits[0].chunk.section))} if hits else set()
    out: list[str] = []
    seen: set[str] = set()
    for h, title in candidate_headings(hits, neighbours):
        key = _norm(h)
        if not _usable(h) or not key or key in covered or key in seen or key in seen_text:
            continue
        seen.add(key)
        q = as_question(h, lang, title)
        if _norm(q) in seen_text:
            continue
        out.append(q)
        if len(out) >= n:
            break
    return out
