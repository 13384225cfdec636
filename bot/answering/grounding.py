"""Does the answer come from the passages? A check that needs no model, run after the answer streams.

The prompt tells the model to answer only from the passages, and a 1.5B model often does not: asked
"红烧肉怎么做才好吃？" over passages on AI study plans it gave a recipe (料酒、生抽、老抽…) from its own
weights. Such an answer shares almost no content words with the passages it was given, while a
grounded one — even a paraphrase — reuses most of them. So: the share of the answer's content words
(BM25 tokens, minus the words of the question itself: restating the question is not a claim) that
occur in the passages. When any passage is in another language than the answer (an English answer
may translate a Chinese passage), words cannot be compared, so nothing is judged, unless the answer is
a bare name or number ("CBox"), which Chinese passages write as English ones do. Across languages
``drifts`` compares meanings instead (the embedder is multilingual): an answer from the model's own
knowledge lies closer to the question than to anything the passages say.
"""
from __future__ import annotations

import re
from typing import Callable, Protocol

import numpy as np

from bot.core.text import has_cjk, question_lang, sentence_spans, tokenize
from bot.core.types import Hit


# A short yes/no reply carries no content word to look up ("不靠谱。", "是的，可以。"): it is not judged.
_YES_NO = re.compile(r"^\W*(是|不|否|能|可以|对|没有|会|yes|no|not|correct|true|false)(?![a-z])", re.I)
# A bare name or number ("CBox", "FunASR", "99%", "Garage、SeaweedFS"): at most this many words, each
# written as a name (a capital or a digit in it), nothing else in Latin letters. Such a reply reads as
# English to a Chinese question, yet Chinese passages write names and numbers as it does, so it is
# compared with passages in any language. "The plan starts with tools." is a sentence, not a name.
_BARE_WORDS = 3
_LATIN_RUN = re.compile(r"[A-Za-z0-9][\w.+%-]*")


def _bare(answer: str) -> bool:
    words = _LATIN_RUN.findall(answer or "")
    return (0 < len(words) <= _BARE_WORDS and not has_cjk(answer)
            and all(re.search(r"[A-Z0-9]", w) for w in words))


def judged_by_words(answer: str, hits: list[Hit]) -> bool:
    """Whether ``support`` and ``local_support`` can compare the answer's words with these passages."""
    return _judged(hits, question_lang(answer), _bare(answer))


def _judged(hits: list[Hit], lang: str, bare: bool) -> bool:
    """Whether the answer's words can be compared with these passages: all in its language, or it is bare."""
    return bool(hits) and (bare or all((h.chunk.lang or "en") == lang for h in hits))


def support(answer: str, question: str, hits: list[Hit], min_words: int = 6) -> float | None:
    """Share of the answer's own content words found in the passages, or None when there is too
    little to judge (a short yes/no reply, a passage in another language). An answer with fewer than
    ``min_words`` content words is judged only when none of them is in the passages: one short
    name is the whole claim ("…冠军是马龙。" over passages that never name him), while a share
    of two or three words is too coarse to set against the threshold."""
    asked = set(tokenize(question))
    words = {t for t in tokenize(answer) if t not in asked and len(t) > 1}
    if not words or not _judged(hits, question_lang(answer), _bare(answer)):
        return None  # part of the answer may be a translation, whose words cannot be compared
    # The heading the model read with each passage counts: "第161期" names the newsletter issue the item is in.
    texts = [x for h in hits for x in (h.chunk.title, h.chunk.section, h.chunk.date, h.chunk.text) if x]
    pool = set(tokenize("\n".join(texts)))
    share = sum(t in pool for t in words) / len(words)
    if len(words) < min_words and (share > 0 or _YES_NO.match(answer)):
        return None
    return share


def ungrounded(answer: str, question: str, hits: list[Hit], below: float) -> bool:
    s = support(answer, question, hits)
    return s is not None and s < below


def local_support(answer: str, query: str | list[str], hits: list[Hit], weight: Callable[[str], float] | None = None,
                  window: int = 3) -> float | None:
    """How well one stretch of one passage backs the answer while being about the question: over every
    run of up to ``window`` sentences (read with its passage's title and section), the smaller of the
    share of the answer's own content words it holds and the share of the question's weight
    (``weight``: a term's IDF) it holds; the best run's value. ``query``: the question, or its phrasings
    (with its translations); only those in the passages' language are judged, as words cannot match across
    languages. None when nothing can be judged (see ``support``).

    Words found anywhere in the passages are not enough: asked "and its MMLU score?" about one model,
    the 1.5B answered with the score the passages give for another, every word of it in a passage.
    The sentence holding the claim did not name the model the question was about."""
    phrasings = [p for p in ([query] if isinstance(query, str) else list(query)) if p]
    asked = set().union(*(set(tokenize(p)) for p in phrasings))
    words = {t for t in tokenize(answer) if t not in asked and len(t) > 1}
    bare = _bare(answer)
    if not words or not _judged(hits, question_lang(answer), bare) or (_YES_NO.match(answer or "") and len(words) <= _BARE_WORDS):
        return None
    # The question is read in each passage's language ("s" of "Large's", "法" of "阅读法": one character
    # says nothing about the topic); a passage in a language no phrasing is in cannot be judged.
    bags = {lang: [b for p in phrasings if question_lang(p) == lang if (b := {t for t in tokenize(p) if len(t) > 1})]
            for lang in {h.chunk.lang or "en" for h in hits}}
    w = {t: (weight(t) if weight else 1.0) for bs in bags.values() for b in bs for t in b}
    best = None
    for h in hits:
        mine = bags[h.chunk.lang or "en"]
        if not mine:
            continue
        totals = [sum(w[t] for t in b) or 1.0 for b in mine]
        heading = set(tokenize(" ".join(x for x in (h.chunk.title, h.chunk.section) if x)))
        text = h.chunk.text
        found = [set(tokenize(text[a:b])) for a, b in (sentence_spans(text) or [(0, len(text))])]
        for i in range(len(found)):
            run = heading.union(*found[i:i + window])
            about = max(sum(w[t] for t in b & run) / total for b, total in zip(mine, totals))
            best = max(best or 0.0, min(len(words & run) / len(words), about))
    return best


# A name as a Chinese passage writes it in Latin letters: a digit, dot, dash or plus in it, or a capital
# after its first letter ("instant.page", "GPT-4", "LoRA"); "The" or "Pacific" is any English sentence's.
_NAME_SHAPE = re.compile(r"[0-9._+-]|.[A-Z]")


def borrows_names(answer: str, question: str, hits: list[Hit], weight: Callable[[str], float], rare: float) -> bool:
    """Whether the answer names something its passages name and the question does not, and that few
    passages of the library name (``weight``: a token's IDF, at least ``rare``). Such an answer took its
    claim from the passages even when it wraps it in the question's words ("The JS library that
    preloads a page on hover is instant.page." over a Chinese item on instant.page), where ``drifts``
    would find it closer to the question; a common name ("LLM") proves nothing."""
    asked = set(tokenize(question))
    pool = set(tokenize("\n".join(x for h in hits for x in (h.chunk.title, h.chunk.section, h.chunk.text) if x)))
    return any(t not in asked and t in pool and weight(t) >= rare
               for w in _LATIN_RUN.findall(answer or "") if _NAME_SHAPE.search(w.rstrip(".-")) for t in tokenize(w))


class Embedder(Protocol):
    def embed_passages(self, texts: list[str]) -> np.ndarray: ...
    def embed_query_np(self, text: str) -> np.ndarray: ...


def drifts(answer: str, query: str, hits: list[Hit], embedder: Embedder, margin: float,
           stored: dict[str, np.ndarray] | None = None, window: int = 3) -> bool:
    """Whether the answer lies ``margin`` (cosine) closer to the question than to every passage and to
    every run of up to ``window`` sentences of one: it speaks to what was asked, not from what the
    passages say. For an answer in another language than its passages, where words cannot be compared.

    Asked "How do I change a flat tire on my bike?" over Chinese newsletter items, the 1.5B listed a tire
    pump and a repair kit: 0.95 to the question, at best 0.78 to any stretch of the passages; an answer
    taken from a passage, even translated ("WordPiece scores candidate pairs…"), lies about as close to it
    as to the question or closer. ``stored``: the passages' own vectors (raw cosines, as the embedder's),
    read first; the sentence runs are embedded only when no whole passage is close enough."""
    vec = embedder.embed_passages([answer])[0]
    floor = float(vec @ embedder.embed_query_np(query)) - margin
    if stored and max(float(v @ vec) for v in stored.values()) >= floor:
        return False
    runs = []
    for h in hits:
        text = h.chunk.text
        spans = sentence_spans(text) or [(0, len(text))]
        runs += [text[spans[i][0]:spans[min(i + window, len(spans)) - 1][1]] for i in range(len(spans))]
    return bool(runs) and float(np.max(embedder.embed_passages(runs) @ vec)) < floor
