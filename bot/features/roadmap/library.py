"""Which learning paths in the library a goal is about, and what the library does not cover.

Curricula are found at ingest (ingest/curricula.py) and read from the manifest as dicts. A goal is
matched against each curriculum's title, stage titles and topics with two signals that must agree:

* **Words**: the goal's own terms (English words, Chinese character pairs, minus generic learning
  words such as 学习 / learn) must occur in the curriculum. Cheap and explainable; says nothing
  across languages.
* **Meaning** (when an embedder is given): the goal's similarity to the curriculum *minus* its mean
  similarity to a few unrelated study plans (``ANCHORS``). multilingual-e5 scores every Chinese pair
  about 0.8, so the raw cosine cannot tell "学钢琴" from "学习AIGC"; the margin can.

A curriculum matches when it shares a term and its margin is at least ``MARGIN_WITH_WORDS``, or
(across languages) when its margin alone is at least ``MARGIN_ALONE``. The two thresholds were
chosen on the seed curricula and two Kubernetes syllabi (positives: 学习AIGC 0.06–0.10,
用AI做小红书内容 0.08, Kubernetes 运维 → its syllabus 0.13, learn Kubernetes operations 0.13;
negatives: 学钢琴 ≤ 0.03, learn piano ≤ 0.01, Kubernetes 运维 → the AIGC seeds 0.05 with no shared
term) and checked on held-out goals in tests/test_curricula.py. Without an embedder, words alone decide.

The hand-written catalogue (knowledge/catalogue.yaml) still serves goals inside its ``scope``; when
both could serve, the catalogue track wins only if the goal is closer to it than to the curriculum
(a lawyer's "用AI起草合同" is closer to the domain-expert track than to a generic AIGC syllabus).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.core.text import CJK_CHARS

MARGIN_WITH_WORDS = 0.02
MARGIN_ALONE = 0.09
CATALOGUE_EDGE = 0.0  # the catalogue must beat the curriculum's margin by this much to be preferred

# Unrelated study plans: the baseline similarity any goal has to "a study plan in this language".
ANCHORS = (
    "摄影入门学习计划：构图、曝光、后期修图", "健身训练计划：力量训练、有氧运动、饮食", "中国历史学习路线：先秦、秦汉、唐宋",
    "会计基础：借贷记账、财务报表、税务", "园艺入门：土壤、浇水、修剪", "英语口语提升：发音、听力、日常对话",
    "Photography for beginners: composition, exposure, editing", "Fitness plan: strength training, cardio, nutrition",
    "World history course: ancient civilisations, the middle ages", "Accounting basics: bookkeeping, financial statements",
    "Gardening: soil, watering, pruning", "Spoken English: pronunciation, listening, conversation",
)

# Words that say "I want to learn" rather than what: they must not make a goal match anything.
_GENERIC_ZH = ("学习", "学会", "学", "了解", "掌握", "成为", "提升", "提高", "入门", "精通", "系统", "如何", "怎么", "想要",
               "我想", "能够", "自己", "一个", "一名", "做", "用", "的", "和", "与", "及", "并", "在", "能", "会", "个月")
_GENERIC_EN = frozenset(
    "learn learning study studying understand become get good better how to the a an and or of for with in on at my "
    "our me i want become basics basic beginner advanced intro introduction course skills skill use using make build "
    "improve master start started".split()
    # "AI" names a whole field (every seed says it): a goal must share more than that with a syllabus.
    + ["ai"])
_SPLIT = re.compile(r"\s*(?:和|与|以及|及|并且|并|、|,|，|;|；|&|\+|/|\band\b)\s*", re.I)
CODE_WORDS = ("python", "pytorch", "代码", "编程", "coding", "programming", "api", "transformer", "fastapi", "数学",
              "math", "算法")

Similarity = Callable[[str, Sequence[str]], np.ndarray]


def _terms(text: str) -> set[str]:
    """Distinctive terms: English words (3+ letters, no generic ones) and Chinese character pairs."""
    t = text.lower()
    for g in sorted(_GENERIC_ZH, key=len, reverse=True):
        t = t.replace(g, " ")
    out = {w for w in re.findall(r"[a-z][a-z0-9+#.-]*[a-z0-9+#]|[a-z]{2}", t) if w not in _GENERIC_EN and len(w) >= 2}
    out = {w for w in out if len(w) >= 3 or w == "k8s"}
    for run in re.findall(rf"[{CJK_CHARS}]+", t):
        if len(run) == 1:
            continue
        out |= {run[i : i + 2] for i in range(len(run) - 1)}
    return out


def term_hits(goal_text: str, hay: str) -> list[str]:
    """The goal's distinctive terms that occur in ``hay`` (English words as whole words)."""
    h = hay.lower()
    return [term for term in sorted(_terms(goal_text)) if _occurs(term, h)]


def _occurs(term: str, text: str) -> bool:
    """``term`` in lower-case ``text``; an ASCII term only at a word's start ("ai" not in "spain")."""
    if term.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(term)}", text) is not None
    return term in text


def goal_parts(goal: str) -> list[str]:
    """"Kubernetes 运维和钢琴" -> ["Kubernetes 运维", "钢琴"]: each part is checked for coverage on its own."""
    parts = [p.strip() for p in _SPLIT.split(goal) if p and p.strip()]
    parts = [p for p in parts if _terms(p)]
    return parts if len(parts) > 1 else [goal.strip()]


def curriculum_text(c: dict[str, Any]) -> str:
    """What a curriculum is about: its title, then each stage's title and first topics."""
    stages = "；".join(f"{s['title']} " + "、".join(s["topics"][:3]) for s in c["stages"])
    return f"{c.get('title') or ''}：{stages}"


def curriculum_words(c: dict[str, Any]) -> str:
    """Everything a goal's words may be found in: title, headings, all topics and tasks."""
    return " ".join([c.get("title") or "", *(f"{s['heading']} {' '.join(s['topics'])} {' '.join(s['tasks'])}"
                                             for s in c["stages"])])


def embedder_similarity(embedder: Any, vectors: dict[str, np.ndarray] | None = None) -> Similarity | None:
    """Query-vs-passages cosine from the index's embedder; None for the hashing test embedder (its
    scores mean nothing on the margins above, so words alone decide). ``vectors``: passage vectors
    by text, kept between roadmaps (the anchors and curricula are the same every time; embedding
    them again cost seconds per plan on a busy machine)."""
    if embedder is None or str(getattr(embedder, "model_id", "")).startswith("fake"):
        return None
    cache = {} if vectors is None else vectors

    def sim(query: str, texts: Sequence[str]) -> np.ndarray:
        q = np.asarray(embedder.embed_query_np(query), dtype=np.float32)
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            for t, v in zip(missing, np.asarray(embedder.embed_passages(missing), dtype=np.float32)):
                cache[t] = v
        return np.stack([cache[t] for t in texts]) @ q

    return sim


@dataclass
class Score:
    margin: float | None
    hits: list[str]

    def matches(self) -> bool:
        if self.margin is None:
            return bool(self.hits)
        return (bool(self.hits) and self.margin >= MARGIN_WITH_WORDS) or self.margin >= MARGIN_ALONE

    @property
    def rank(self) -> tuple:
        return (self.margin if self.margin is not None else 0.0, len(self.hits))


@dataclass
class Library:
    """The curricula found in the library, and how to compare a goal with text."""

    curricula: list[dict[str, Any]] = field(default_factory=list)
    similarity: Similarity | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def margins(self, query: str, texts: list[str]) -> list[float | None]:
        if self.similarity is None or not texts:
            return [None] * len(texts)
        key = ("m", query, tuple(texts))
        if key not in self._cache:
            sims = self.similarity(query, [*texts, *ANCHORS])
            base = float(np.mean(sims[len(texts):]))
            self._cache[key] = [round(float(s) - base, 4) for s in sims[: len(texts)]]
        return self._cache[key]

    def score(self, query: str, texts: list[str], words: list[str]) -> list[Score]:
        margins = self.margins(query, texts)
        return [Score(m, term_hits(query, w)) for m, w in zip(margins, words)]

    def match(self, query: str) -> list[tuple[dict[str, Any], Score]]:
        """Curricula matching ``query``, best first."""
        scores = self.score(query, [curriculum_text(c) for c in self.curricula],
                            [curriculum_words(c) for c in self.curricula])
        found = [(c, s) for c, s in zip(self.curricula, scores) if s.matches()]
        return sorted(found, key=lambda cs: cs[1].rank, reverse=True)

    def stage_relevance(self, query: str, c: dict[str, Any]) -> list[float]:
        texts = [f"{s['title']}：{'、'.join(s['topics'][:5])}" for s in c["stages"]]
        margins = self.margins(query, texts)
        hits = [len(term_hits(query, f"{s['heading']} {' '.join(s['topics'])}")) for s in c["stages"]]
        return [(m or 0.0) + 0.01 * h for m, h in zip(margins, hits)]


def needs_code(stage: dict[str, Any]) -> bool:
    text = f"{stage['title']} {' '.join(stage['topics'])}".lower()
    return any(w in text for w in CODE_WORDS)


def catalogue_hits(goal: str, scope: Sequence[str]) -> list[str]:
    """Scope terms of the catalogue the goal names (ASCII terms as whole words: "AI" not in "Spain")."""
    g = goal.lower()
    return [term for term in scope if _occurs(term.lower(), g)]


_LEAD = re.compile(r"^(?:(?:i want to|how to|learn(?:ing)?|study(?:ing)?|get better at|become|master|"
                   r"学习|学会|想学|学|了解|掌握|成为|精通)\s*)+", re.I)


def gap_for(part: str, lang: str) -> dict[str, str]:
    """What is missing for one goal part ("learn piano" -> piano), and what kind of source would fill it."""
    part = _LEAD.sub("", part).strip() or part
    if lang == "zh":
        return {"topic": part, "missing": f"资料库里没有关于「{part}」的学习路线或资料。",
                "add": f"请管理员添加一份「{part}」的课程大纲或学习计划（分阶段/周，写明时长和主题），以及相关教程或参考资料"
                       "（Markdown、PDF 或 HTML），重新索引后即可生成路线图。"}
    return {"topic": part, "missing": f"The library has no study plan or material on “{part}”.",
            "add": f"Ask an admin to add a syllabus or study plan for “{part}” (stages or weeks with durations and "
                   "topics) plus tutorials or reference material (Markdown, PDF or HTML), then re-index."}
