"""The relevance gate, the last retrieval stage: does the library cover the question at all?

The chat then says so instead of guessing from the closest passages. Two signals, both read from
the hits ``Retriever.search`` returns: the fused score of the best hit (``relevance_floor``), and the
re-scorer's evidence (the best window's share of the question's rare words, ``Hit.match``, together
with the best cosine, ``Hit.dense``): a question is refused when both are low.
"""
from __future__ import annotations

import re
from typing import Callable, Container

from bot.core.settings import Settings
from bot.core.text import dictionary_word, question_lang, tokenize
from bot.core.types import Hit
from bot.retrieval.scope import cued_words


def refuses(query: str, hits: list[Hit], also: list[str] | tuple[str, ...], settings: Settings,
            langs: Callable[[], dict[str, int]]) -> bool:
    """Whether the library does not cover the question.

    ``also``: the phrasings searched besides ``query`` (its translation). Similarity is only
    comparable within a language (e5 scores a question lower against any passage in the other
    language), so only passages in a language of some phrasing are judged, and a question that
    needed a translation it did not get is not refused. ``langs``: passages per language in the
    library (read only when there is no translation)."""
    s = settings
    if not hits or hits[0].score < s.relevance_floor:
        return True
    if s.refuse_below_match <= 0:
        return False
    if not also:
        from bot.retrieval.translate import target_language

        if target_language(query, langs()) is not None:
            # An English question over a largely Chinese library scores about as low against the
            # passage that answers it as an off-topic one does, so without a translation the bot
            # cannot tell them apart and shows what it found.
            return False
    phrasing_langs = {question_lang(q) for q in (query, *also) if q}
    judged = [h for h in hits if (h.chunk.lang or "en") in phrasing_langs]
    if not judged:
        return False
    match = max((h.match for h in hits if h.match is not None), default=None)
    cosine = max((h.dense for h in judged if h.dense is not None), default=None)
    if match is None or cosine is None:
        return False  # no evidence either way (e.g. re-scoring off, vectors still pending)
    return match < s.refuse_below_match and cosine < s.refuse_below_cosine


# A name in a question: a Latin-script word or hyphen/dot compound ("MIPRO", "GLM-4", "o1-preview").
_NAME = re.compile(r"(?<![\w.-])([A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*)")
# A run of capitalised words ("Burkina Faso"), and what ends a sentence before one (so it starts it).
_CAPITALISED = re.compile(r"(?<![\w.'-])([A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)(?![\w-])")
_CJK_WORD = re.compile(r"[\u3400-\u9fff]")
_MAX_TEXT_SCANS = 8
_SENTENCE_END = ".?!。？！:：;；\"“”「」"


def _name_like(word: str) -> bool:
    """Written as a name, not as a word: a digit ("GLM-4"), a capital inside ("GraphRAG", "ColBERT"),
    all capitals ("MIPRO"), or capitalised hyphenated words ("Chain-of-Density")."""
    return len(word) >= 3 and bool(
        re.search(r"\d", word) or re.search(r"[a-z][A-Z]", word) or re.fullmatch(r"[A-Z]{3,}", word)
        or re.fullmatch(r"[A-Z][a-z]+(?:-[a-z]+)*-[A-Z][a-z]+", word))


def unmentioned(question: str, vocabulary: Container[str], idf_of: Callable[[str], float] | None = None,
                share: float = 0.0, also: list[str] | tuple[str, ...] = (),
                occurs: Callable[[str], bool] | None = None) -> list[str]:
    """The names in ``question`` that no passage of the library contains (``vocabulary``: the BM25
    index's tokens). Whatever the model says about them cannot come from the library. A range of
    versions whose every end the library holds ("V1-V3" beside "V1~V3") counts as mentioned; a model
    whose family it holds does not ("GLM-4" beside "GLM-130B").

    With ``idf_of`` and ``share``: also the words the library never uses, when they carry more than
    ``share`` of the question's IDF weight ("How do I make kimchi at home?", "红烧肉怎么做才好吃？"):
    the question is then about something the library does not hold, whether or not it reads as a name.
    Not when a phrasing in ``also`` (its translation) is clear of them ("the 'barbell' reading method"
    is 杠铃阅读法). A Chinese word counts only when it is a dictionary word that no passage contains
    (``occurs``): jieba cuts learners' phrasing into compounds no passage is cut into ("系统学AIGC"
    gives 系统学, while passages say 系统学习)."""
    out = []
    for word in _NAME.findall(question or ""):
        if not _name_like(word):
            continue
        toks = [t for t in tokenize(word) if not t.isdigit()]
        if not toks or all(t in vocabulary for t in toks):
            continue
        parts = re.split(r"[-.]", word)
        if len(parts) > 1 and all(re.search(r"\d", p) for p in parts) and all(
                t in vocabulary for p in parts for t in tokenize(p)):
            continue
        out.append(word)
    # Capitalised words inside a sentence are a name too ("the Jamba architecture", "Burkina Faso"),
    # unless they name where to look ("Ruan Yifeng's weekly": the library calls him 阮一峰).
    q = question or ""
    source_words = cued_words(q, set())
    for m in _CAPITALISED.finditer(q):
        words = m.group(1).split()
        before = q[: m.start()].rstrip()
        if not before or before[-1] in _SENTENCE_END:
            words = words[1:]  # the first is capitalised because it starts a sentence
        toks = [t for w in words for t in tokenize(w)]
        if set(toks) & source_words:
            continue
        if any(len(w) >= 4 and not all(t in vocabulary for t in tokenize(w)) for w in words):
            out.append(" ".join(words))
    if idf_of is not None and share > 0:
        unknown = _unknown_words(q, vocabulary, idf_of, share, occurs)
        if unknown and not any(p and not _unknown_words(p, vocabulary, idf_of, share, occurs) for p in also):
            out += unknown
    named, covered = [], set()
    for w in out:  # once each: "Burkina Faso" is a name and two unknown words
        parts = set(w.lower().split())
        if not parts <= covered:
            named.append(w)
            covered |= parts
    return named


def _unknown_words(question: str, vocabulary: Container[str], idf_of: Callable[[str], float], share: float,
                   occurs: Callable[[str], bool] | None) -> list[str]:
    toks = [t for t in dict.fromkeys(tokenize(question)) if not t.isdigit()]
    total = sum(idf_of(t) for t in toks)
    unknown = {t for t in toks if t not in vocabulary and (not _CJK_WORD.match(t) or dictionary_word(t))}

    def heavy() -> bool:
        return bool(unknown) and bool(total) and sum(idf_of(t) for t in unknown) / total > share

    if not heavy():
        return []
    if occurs is not None:
        # Each look is a scan of every passage: a few, however long the question (the rest stay unknown).
        for t in [t for t in toks if t in unknown and _CJK_WORD.match(t)][:_MAX_TEXT_SCANS]:
            if occurs(t):
                unknown.discard(t)
        if not heavy():
            return []
    # Shown as the learner wrote them: the Latin words whose (stemmed) tokens are unknown, and the
    # unknown Chinese words that are not part of a longer one (jieba's search mode also cuts 烧肉 from
    # 红烧肉), leaving out single characters (才, 肥) beside whole words.
    words = [w for w in _NAME.findall(question) if unknown & set(tokenize(w))]
    cjk = [t for t in toks if t in unknown and _CJK_WORD.match(t)]
    cjk = [t for t in cjk if not any(t != c and t in c for c in cjk)]
    return words + ([t for t in cjk if len(t) > 1] or cjk)
