"""Evidence first: the few sentences of the library that best answer a question, found before the model
runs, so the learner reads them (highlighted inside their passage, with the citation) while the model
is still reading its prompt — and reads them instead of an answer the passages do not support.

No model: each passage is cut into sentences (``bot.core.text.sentence_spans``); a candidate is a
sentence with up to ``window`` sentences after it, within ``max_chars``; it scores the share of the
question's IDF weight it contains (a rare word names the topic, "什么" does not), less a step per
place the passage stands below the first (retrieval's order is evidence too). The best candidates
that do not overlap are kept. A candidate that shares no weighted word with the question is never
evidence: a highlighted sentence that says nothing about the question would read as an answer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

from bot.core.text import sentence_spans, squash, tokenize
from bot.core.types import Hit


@dataclass
class Evidence:
    """One excerpt: ``text`` is ``passage[start:end]`` (whitespace runs collapsed), ``before``/``after``
    the passage around it for context, ``n`` the 1-based place of its passage among the hits (the
    citation number the learner sees)."""

    n: int
    text: str
    before: str
    after: str
    start: int
    end: int
    score: float

    def to_json(self) -> dict:
        return asdict(self)



def select_evidence(hits: list[Hit], focus: str | list[str], weight: Callable[[str], float] | None = None, *,
                    passages: int = 5, most: int = 3, window: int = 2, max_chars: int = 300,
                    rank_step: float = 0.15, context: int = 90, min_share: float = 0.15) -> list[Evidence]:
    """Up to ``most`` excerpts from the first ``passages`` hits, best first. ``focus``: the phrasings
    searched (the question, its translation, glossary terms). Each is judged on its own and a candidate
    scores its best share: a Chinese passage is measured against the translation's words alone, as
    the English question's words can never occur in it (pooled, they outweighed every Chinese word:
    asked in English over a Chinese library, nothing reached the bar)."""
    phrasings = [focus] if isinstance(focus, str) else list(focus)
    bags = [set(tokenize(p)) for p in phrasings if p]
    bags = [b for b in bags if b]
    if not bags or not hits:
        return []
    asked = set().union(*bags)
    w = {t: (weight(t) if weight else 1.0) for t in asked}
    totals = [sum(w[t] for t in b) or 1.0 for b in bags]
    scored: list[tuple[float, int, int, int, int]] = []  # (score, hit, first sentence, start, end)
    for rank, hit in enumerate(hits[:passages]):
        text = hit.chunk.text
        spans = sentence_spans(text)
        found = [asked & set(tokenize(text[a:b])) for a, b in spans]
        for i, (a, b) in enumerate(spans):
            words, end = set(found[i]), b
            for j in range(i + 1, min(len(spans), i + 1 + window)):
                if spans[j][1] - a > max_chars:
                    break
                words |= found[j]
                end = spans[j][1]
            share = max(sum(w[t] for t in words & bag) / total for bag, total in zip(bags, totals))
            if share < min_share:
                continue
            scored.append((share - rank_step * rank, rank, i, a, min(end, a + max_chars)))
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    out: list[Evidence] = []
    taken: list[tuple[int, int, int]] = []
    for score, rank, _, a, b in scored:
        if any(r == rank and a < tb and ta < b for r, ta, tb in taken):
            continue  # overlaps an excerpt already kept
        text = hits[rank].chunk.text
        before, after = text[max(0, a - context):a], text[b:b + context]
        out.append(Evidence(
            n=rank + 1, text=squash(text[a:b]), start=a, end=b, score=round(score, 4),
            before=("…" if a > context else "") + squash(before) + (" " if before[-1:].isspace() else ""),
            after=(" " if after[:1].isspace() else "") + squash(after) + ("…" if b + context < len(text) else ""),
        ))
        taken.append((rank, a, b))
        if len(out) == most:
            break
    return out


def evidence_text(evidence: list[Evidence]) -> str:
    """The excerpts as plain text (what the learner reads; what the eval checks for the gold answer)."""
    return "\n".join(e.text for e in evidence)


def restates(answer: str, question: str, min_words: int = 3) -> bool:
    """Whether the answer only says the question back: none of its content words (it has at least
    ``min_words``) is new. A short right answer often adds a single word to the question's own
    ("周刊推荐过 httpsproxy2http 工具。", "…under the Course category."), so one new word is enough
    to pass; only an answer made wholly of the question's words is caught."""
    # A number is never filler, however short: "LoRA 微调的超参数是8。" answers with the rank.
    words = {t for t in tokenize(answer) if len(t) > 1 or t.isdigit()}
    if len(words) < min_words:
        return False
    return not (words - set(tokenize(question)))


UNSUPPORTED = {
    "ungrounded": {"zh": "⚠️ 模型的回答在资料中找不到依据，已隐去。资料原文中最相关的是：",
                   "en": "⚠️ The model's answer is not supported by the library, so it is not shown. What the library says:"},
    "restated": {"zh": "⚠️ 模型只复述了问题，没有给出答案。资料原文中最相关的是：",
                 "en": "⚠️ The model only restated the question. What the library says:"},
    "unmentioned": {"zh": "⚠️ 资料库里没有提到“{names}”，无法据资料回答，所以没有让模型作答。资料中最接近的是：",
                    "en": "⚠️ The library never mentions “{names}”, so it cannot answer this, and the model was not asked "
                          "(its answer could not come from the library). The closest the library has:"},
}
# Answers the check replaces by the evidence (the model's text is kept only as ``Answer.draft``).
REPLACED = ("ungrounded", "restated", "unmentioned")
NO_EVIDENCE = {"zh": "资料中没有直接回答它的句子，请看下方的来源段落。",
               "en": "No sentence in the library answers it directly: see the passages under Sources."}


def unsupported_text(status: str, lang: str, evidence: list[Evidence], names: list[str] | tuple[str, ...] = ()) -> str:
    """The answer shown instead of one the passages do not support: why (``names``: what the library
    never mentions), then the evidence, each excerpt with its citation number."""
    head = UNSUPPORTED[status][lang].format(names="”“".join(names))
    if not evidence:
        return f"{head}\n\n{NO_EVIDENCE[lang]}"
    return head + "\n\n" + "\n\n".join(f"> {e.text} [{e.n}]" for e in evidence)
