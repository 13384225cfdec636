"""Hybrid retrieval: dense (Chroma) and lexical (BM25 over jieba tokens), fused by weighted RRF.

BM25 is strong on Chinese and e5-small is weak there but good across languages, so lexical
evidence weighs more when the query contains Chinese. Vectors may be partial (they are filled in
after BM25): dense search ranks what has a vector.

``Retriever.search`` runs these stages, each a function or method below:

    candidates        dense and BM25 rankings for each phrasing (the question, its translation)
    phrasing_weights  how much each translation counts (gated on how well it matches)
    fuse, fuse_terms  weighted RRF over every ranking (glossary terms: BM25 only, gated)
    fuse_scope        the same rankings inside the source or language version the question names
                      (bot/retrieval/scope.py), added at ``w_scope``
    read              the passages of the best fused candidates
    prefer_language   optional bonus for passages in the question's language
    rescore           re-order the top by how well they match (bot/retrieval/rescore.py)
    rerank            optional cross-encoder (bot/retrieval/rerank.py)
    by_date           the question's time words (bot/retrieval/dates.py): a period keeps the passages
                      dated in it (before they are read); "first time / latest" sorts the relevant
                      ones by date
    prefer_scope      a source or language version the learner named ("according to the weekly",
                      "the Chinese version") puts its passages first
    dedupe            drop near-repeats, keep the first k

Planning what to search comes before (bot/retrieval/query_plan.py), the relevance gate after
(bot/retrieval/gate.py).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from bot.core.text import detect_lang, has_cjk, question_lang, tokenize
from bot.core.types import Chunk, Hit
from bot.index.lexical import BM25
from bot.index.store import Index
# Query planning lives in query_plan.py; evals and tests import these from here.
from bot.retrieval.query_plan import BORROW_CHARS, contextual_query  # noqa: F401
from bot.retrieval.dates import DateIntent, date_intent, date_order, in_period
from bot.retrieval.rerank import Reranker, rerank
from bot.retrieval.rescore import RescoreWeights, rescore
from bot.retrieval.scope import Scope, SourceNames, scope_of

Ranking = list[tuple[str, float]]  # (chunk id, score), best first


@dataclass
class FusionConfig:
    mode: str = "hybrid"  # hybrid | dense | bm25
    rrf_k: int = 60
    candidates: int = 40
    w_dense: float = 1.0
    w_lex_cjk: float = 1.0  # weight of BM25 when the query contains Chinese
    w_lex_latin: float = 0.5  # ... and when it does not
    dedupe: float = 0.85  # char-trigram Jaccard above which a passage counts as a repeat
    w_also: float = 1.0  # most weight of an alternative phrasing (translation) relative to the question itself
    # A translation counts in full only when it matches passages in its language better than the
    # question matches passages in its own: e5 puts a page's other-language twin close behind, so
    # an unconditional translation pushed same-language answers out of the top five.
    # Its weight is a logistic in (best cosine of the translation among other-language passages -
    # best cosine of the question among its own-language ones), centred at ``also_gate``.
    also_gate: float = 0.0
    also_temp: float = 0.015
    # Glossary terms (bot/retrieval/glossary.py) are searched by BM25 only, at most at this weight relative
    # to the question, and never judge passages in the re-scorer: a bag of terms is not a question.
    # Gated like a translation (centred at ``terms_gate``): ungated, English questions about
    # English pages lost their answers to Chinese passages sharing a term. Weight and gate come
    # from a sweep over the dev set without an LLM: re-run it (evals) before changing them.
    w_terms: float = 2.0
    terms_gate: float = 0.02
    same_lang: float = 0.0  # score bonus (fraction) for passages in the question's language
    rescore: RescoreWeights | None = field(default_factory=RescoreWeights)  # None: fused order only
    rerank: Reranker | None = None  # a cross-encoder after the re-scorer (STUDYBOT_RERANKER); None: off
    # Time words in the question ("最近 / first time / 2024年", bot/retrieval/dates.py) filter and sort
    # dated passages. Such a question searches deeper (``date_depth`` x candidates, ``date_read``
    # passages read): the earliest mention of X is rarely among the 40 best-worded ones.
    dates: bool = True
    date_depth: int = 4
    date_read: int = 60
    date_share: float = 0.6  # relevant to the topic: at least this share of the best passage's
    # A question that names a source or asks for a language version (bot/retrieval/scope.py) also
    # searches that part of the library; its rankings count this much relative to the whole library's.
    # ``w_scope_guess``: for pages only guessed from their file names ("prompt chaining"). Chosen on
    # heldout_dev, kept because heldout_test agreed (evals: ``--compare hybrid noscope``).
    w_scope: float = 1.0
    w_scope_guess: float = 0.25


@dataclass
class Run:
    """One phrasing's candidates: its dense and BM25 rankings (empty when that side is off)."""
    query: str
    dense: Ranking = field(default_factory=list)
    lexical: Ranking = field(default_factory=list)
    vector: np.ndarray | None = None  # the phrasing's embedding, when the dense side ran


@dataclass
class Fusion:
    """What fusion knows of each candidate; carried to the hits."""
    score: dict[str, float] = field(default_factory=dict)  # weighted RRF over every ranking
    dense: dict[str, float] = field(default_factory=dict)  # best cosine a dense ranking gave it
    lexical: dict[str, float] = field(default_factory=dict)  # best BM25 score
    best_possible: float = 0.0  # the score of a candidate first in every ranking: Hit.score's scale

    def order(self) -> list[str]:
        """Candidate ids by fused score (ties keep the order they were found in)."""
        return sorted(self.score, key=lambda c: -self.score[c])


def translation_weight(own: float, other: float, cfg: FusionConfig) -> float:
    """Weight of a translation whose best other-language cosine is ``other`` when the question's
    best own-language cosine is ``own``: ``w_also`` when it clearly matches better, ~0 when worse."""
    return cfg.w_also * _gate(other - own - cfg.also_gate, cfg.also_temp)


def _gate(x: float, temp: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x / temp))))


def phrasings(query: str, also: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The question and its other phrasings, blanks dropped."""
    return [q.strip() for q in [query, *also] if q and q.strip()]


def fuse(runs: list[Run], weights: list[float], cfg: FusionConfig,
         pending: Callable[[list[str]], set[str]] = lambda ids: set()) -> Fusion:
    """Weighted reciprocal-rank fusion of each phrasing's dense and BM25 rankings.

    ``weights``: each phrasing's weight (``Retriever.phrasing_weights``; 0 leaves it out).
    ``pending``: which of some ids still wait for their vector."""
    f = Fusion()
    for run, scale in zip(runs, weights):
        if scale <= 0:
            continue
        w_lex = 0.0 if cfg.mode == "dense" else (cfg.w_lex_cjk if has_cjk(run.query) else cfg.w_lex_latin) * scale
        w_dense = 0.0 if cfg.mode == "bm25" else cfg.w_dense * scale
        for rank, (cid, s) in enumerate(run.dense):
            f.score[cid] = f.score.get(cid, 0.0) + w_dense / (cfg.rrf_k + rank + 1)
            f.dense[cid] = max(f.dense.get(cid, s), s)
        # A passage still waiting for its vector (a source added a minute ago) borrows its BM25
        # rank for the dense side: it must not lose to a mediocre dense hit for lack of a vector.
        waiting = pending([c for c, _ in run.lexical]) if w_dense and run.lexical else set()
        for rank, (cid, s) in enumerate(run.lexical):
            f.score[cid] = f.score.get(cid, 0.0) + (w_lex + (w_dense if cid in waiting else 0.0)) / (cfg.rrf_k + rank + 1)
            f.lexical[cid] = max(f.lexical.get(cid, s), s)
        f.best_possible += (w_dense + w_lex) / (cfg.rrf_k + 1)
    return f


def fuse_terms(f: Fusion, rankings: list[tuple[Ranking, float]], cfg: FusionConfig) -> Fusion:
    """Adds BM25 rankings of glossary terms, each at its weight, to ``f``. A term's BM25 score
    never replaces the question's own (``Hit.lexical``)."""
    for ranking, w_t in rankings:
        for rank, (cid, s) in enumerate(ranking):
            f.score[cid] = f.score.get(cid, 0.0) + w_t / (cfg.rrf_k + rank + 1)
            f.lexical.setdefault(cid, s)
        f.best_possible += w_t / (cfg.rrf_k + 1)
    return f


def prefer_language(order: list[str], chunks: dict[str, Chunk], score: dict[str, float], lang: str,
                    bonus: float) -> list[str]:
    """A library often holds the same page in both languages: the question's language wins a tie.
    Raises the fused ``score`` of read passages in ``lang`` by ``bonus`` (a fraction) and re-sorts them."""
    if not bonus or not chunks:
        return order
    for cid, ch in chunks.items():
        if ch.lang == lang:
            score[cid] *= 1 + bonus
    return sorted(chunks, key=lambda c: -score[c]) + order[len(chunks):]


def _trigrams(text: str) -> set[str]:
    t = re.sub(r"\s+", "", text)
    return {t[i : i + 3] for i in range(max(1, len(t) - 2))}


def _near_dup(a: set[str], b: set[str], threshold: float) -> bool:
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= threshold


def dedupe(order: list[str], chunks: dict[str, Chunk], threshold: float, k: int) -> list[str]:
    """The first ``k`` ids of ``order`` that have a passage and repeat none ranked above them
    (character-trigram Jaccard >= ``threshold``): of near-identical siblings the best placed stays."""
    kept: list[str] = []
    grams: list[set[str]] = []
    for cid in order:
        ch = chunks.get(cid)
        if ch is None:
            continue  # deleted since it was found (a re-index, or an orphan vector reconcile will drop)
        g = _trigrams(ch.text)
        if any(_near_dup(g, o, threshold) for o in grams):
            continue
        grams.append(g)
        kept.append(cid)
        if len(kept) >= k:
            break
    return kept


# One search, plus a retry for each ingest that commits while it runs (rare: only during a re-index).
SEARCH_ATTEMPTS = 3
# Passages of sources the admin disabled stay in BM25 and the vector store (enabling them again is
# instant, nothing is re-embedded): each ranking asks for as many more candidates as there are
# disabled passages, up to this many times ``candidates``, drops them and keeps ``candidates``.
DISABLED_EXTRA = 10


class Retriever:
    def __init__(self, index: Index, config: FusionConfig | None = None) -> None:
        self.index = index
        self.cfg = config or FusionConfig()
        self._names: tuple[int, SourceNames] | None = None  # (manifest generation, the library's names)
        self._scoped: dict[tuple, set[str]] = {}  # passages of each scope, for the generation in _names
        # The last question's scope: the chat asks for it again after searching (``named_scope``).
        self._last_scope: tuple[int, str, Scope | None] | None = None

    def search(self, query: str, k: int = 5, also: list[str] | tuple[str, ...] = (),
               terms: list[str] | tuple[str, ...] = ()) -> list[Hit]:
        """Hybrid search. ``also`` are alternative phrasings of the same question (e.g. its
        translation into the library's other language); their rankings are fused with the query's.
        ``terms``: keyword lists (the glossary's other-language terms), fused from BM25 alone."""
        for _ in range(SEARCH_ATTEMPTS - 1):
            gen = self.index.manifest.generation()
            hits, lost = self._search(query, k, also, terms)
            # An ingest committed between finding candidates and reading them: the re-indexed file's
            # old passages are gone and the learner would get none of its new ones. Search again.
            if not lost or self.index.manifest.generation() == gen:
                return hits
        return self._search(query, k, also, terms)[0]

    def _search(self, query: str, k: int, also: list[str] | tuple[str, ...],
                terms: list[str] | tuple[str, ...]) -> tuple[list[Hit], bool]:
        """The hits, and whether candidates vanished from the manifest before they could be read."""
        cfg = self.cfg
        intent = date_intent(query) if cfg.dates else None
        scope = self.scope(query) if cfg.w_scope > 0 or cfg.w_scope_guess > 0 else None
        if scope is not None and (cfg.w_scope if scope.explicit else cfg.w_scope_guess) <= 0:
            scope = None
        if intent is not None and intent.topic:
            query = intent.topic  # "最近" or "2024年" in a passage is no sign it answers
        queries = phrasings(query, also)
        if not queries:
            return [], False
        bm = self._bm25()
        hidden = self.index.manifest.count_disabled_chunks()
        runs = self.candidates(queries, bm, cfg.candidates * cfg.date_depth if intent else cfg.candidates, hidden)
        weights = self.phrasing_weights(runs)
        fusion = fuse(runs, weights, cfg, self.index.manifest.unembedded_among)
        fuse_terms(fusion, self.term_rankings(runs[0], terms, bm, hidden), cfg)
        if scope is not None:
            self.fuse_scope(fusion, runs, weights, scope, bm, cfg.candidates, hidden)
        order = fusion.order()
        if intent is not None and intent.period:
            order = in_period(order, self.index.manifest.dates_of(order), intent)
        chunks, lost = self.read(order, k, cfg.date_read if intent else 0)
        order = prefer_language(order, chunks, fusion.score, detect_lang(query), cfg.same_lang)
        # Only phrasings that carry weight judge the passages: a translation the gate turned
        # down would otherwise pull the question's other-language twin back up.
        strong = [run for run, w in zip(runs, weights) if w >= 0.5]
        order, evidence = self.rescore(order, chunks, strong, fusion, bm)
        order = self.rerank(order, chunks, strong)
        order = self.by_date(order, chunks, intent, bm, fusion)
        if scope is not None and scope.explicit:
            order = self.prefer_scope(order, chunks, scope)
        return [self._hit(c, chunks[c], fusion, evidence) for c in dedupe(order, chunks, cfg.dedupe, k)], lost

    # --- the stages --------------------------------------------------------------------------------

    def _bm25(self) -> BM25 | None:
        """One BM25 handle per search (each ``Index.bm25()`` checks the manifest's generation);
        None when neither fusion nor the re-scorer needs one."""
        cfg = self.cfg
        if cfg.mode in ("hybrid", "dense"):
            self.index.check_embedder()
        return self.index.bm25() if cfg.mode in ("hybrid", "bm25") or cfg.rescore is not None else None

    def candidates(self, queries: list[str], bm: BM25 | None, depth: int | None = None, hidden: int = 0) -> list[Run]:
        """Each phrasing's dense and BM25 rankings, ``depth`` (default ``cfg.candidates``) deep, without
        passages of disabled sources (``hidden``: how many passages those have)."""
        cfg = self.cfg
        depth = depth or cfg.candidates
        fetch = self._depth(hidden, depth)
        runs = []
        for q in queries:
            run = Run(q)
            if cfg.mode in ("hybrid", "dense"):
                run.vector = self.index.embedder.embed_query_np(q)
                run.dense = self._visible(self.index.dense_search(run.vector, fetch), hidden, depth)
            if cfg.mode in ("hybrid", "bm25"):
                run.lexical = self._visible(bm.search(q, fetch), hidden, depth)
            runs.append(run)
        return runs

    def scope(self, query: str) -> Scope | None:
        """The source or language version ``query`` names (bot/retrieval/scope.py), from the library's
        names as of the manifest's generation."""
        gen = self.index.manifest.generation()
        last = self._last_scope
        if last is not None and last[0] == gen and last[1] == query:
            return last[2]
        if self._names is None or self._names[0] != gen:
            self._names, self._scoped = (gen, SourceNames(self.index.manifest.documents())), {}
        scope = scope_of(query, self._names[1])
        self._last_scope = (gen, query, scope)  # one tuple, replaced whole: safe across chat threads
        return scope

    def named_scope(self, query: str) -> dict | None:
        """Where the search of ``query`` looks first when the learner named a source or a language version
        (``SourceNames.describe``); None when it looks everywhere alike."""
        if self.cfg.w_scope <= 0:
            return None
        scope = self.scope(query)
        if scope is None or not scope.explicit:
            return None
        return self._names[1].describe(scope)  # type: ignore[index] - set by scope()

    def _scope_ids(self, scope: Scope) -> set[str]:
        key = (scope.paths, scope.lang)
        among = self._scoped.get(key)
        if among is None:
            among = self._scoped[key] = self.index.manifest.chunk_ids_of(scope.paths, scope.lang)
        return among

    def prefer_scope(self, order: list[str], chunks: dict[str, Chunk], scope: Scope) -> list[str]:
        """The read passages inside ``scope`` first, each side in its order."""
        among = self._scope_ids(scope)
        read = [c for c in order if c in chunks]
        return ([c for c in read if c in among] + [c for c in read if c not in among]
                + [c for c in order if c not in chunks])

    def fuse_scope(self, fusion: Fusion, runs: list[Run], weights: list[float], scope: Scope, bm: BM25 | None,
                   depth: int, hidden: int = 0) -> Fusion:
        """Adds each phrasing's rankings inside ``scope`` to ``fusion``, at ``w_scope`` times the
        phrasing's weight. For a scope the learner named, the best possible score grows by as much;
        for a guessed one it stays the whole library's (``Hit.score`` is capped at 1)."""
        among = self._scope_ids(scope)
        if not among:
            return fusion
        fetch = self._depth(hidden, depth)
        scoped = []
        for run in runs:
            s = Run(run.query, vector=run.vector)
            if run.vector is not None:
                s.dense = self._visible(self.index.dense_search(run.vector, fetch, among), hidden, depth)
            if bm is not None and self.cfg.mode in ("hybrid", "bm25"):
                s.lexical = self._visible(bm.search(run.query, fetch, among), hidden, depth)
            scoped.append(s)
        w_scope = self.cfg.w_scope if scope.explicit else self.cfg.w_scope_guess
        extra = fuse(scoped, [w * w_scope for w in weights], self.cfg, self.index.manifest.unembedded_among)
        if scope.explicit:  # the learner named where to look: what is found there can score in full
            fusion.best_possible += extra.best_possible
        for cid, sc in extra.score.items():
            fusion.score[cid] = fusion.score.get(cid, 0.0) + sc
        for cid, d in extra.dense.items():
            fusion.dense[cid] = max(fusion.dense.get(cid, d), d)
        for cid, lx in extra.lexical.items():
            fusion.lexical[cid] = max(fusion.lexical.get(cid, lx), lx)
        return fusion

    def _depth(self, hidden: int, depth: int | None = None) -> int:
        """How deep to search so that ``depth`` (default ``cfg.candidates``) remain once the ``hidden``
        passages of disabled sources are dropped."""
        depth = depth or self.cfg.candidates
        return depth + min(hidden, DISABLED_EXTRA * depth)

    def _visible(self, ranking: Ranking, hidden: int, keep: int | None = None) -> Ranking:
        """``ranking`` without passages of disabled sources, ``keep`` (default ``cfg.candidates``) deep."""
        if not hidden or not ranking:
            return ranking
        off = self.index.manifest.disabled_among([c for c, _ in ranking])
        return [(c, s) for c, s in ranking if c not in off][: keep or self.cfg.candidates]

    def phrasing_weights(self, runs: list[Run]) -> list[float]:
        """1 for the question; for each translation, ``w_also`` scaled by how much better it
        matches passages in its own language than the question matches passages in the question's."""
        cfg = self.cfg
        if len(runs) < 2 or cfg.mode == "bm25" or not runs[0].dense:
            return [1.0] + [cfg.w_also] * (len(runs) - 1)
        own, others = self._own_and_other(runs[0], [r.dense for r in runs[1:]])
        return [1.0] + [translation_weight(own, other, cfg) for other in others]

    def term_rankings(self, question: Run, terms: list[str] | tuple[str, ...], bm: BM25 | None,
                      hidden: int = 0) -> list[tuple[Ranking, float]]:
        """Each glossary keyword list's BM25 ranking and its weight. Only with a dense side to gate
        them: ungated, the terms outweigh same-language answers."""
        cfg = self.cfg
        if bm is None or cfg.mode != "hybrid" or cfg.w_terms <= 0 or not question.dense:
            return []
        out = []
        for t in terms:
            w_t = cfg.w_terms * self._terms_weight(question, t, hidden)
            out.append((self._visible(bm.search(t, self._depth(hidden)), hidden), w_t))
        return out

    def read(self, order: list[str], k: int, at_least: int = 0) -> tuple[dict[str, Chunk], bool]:
        """The passages of the best candidates (enough for the re-rankers and for dedupe to keep
        ``k``; ``at_least`` more for sorting by date), and whether some vanished from the manifest
        since they were found."""
        rr = self.cfg.rerank
        wanted = order[: max(k * 4, 20, rr.top if rr else 0, at_least)]
        chunks = self.index.manifest.load_chunks(wanted)
        return chunks, len(chunks) < len(wanted)

    def rescore(self, order: list[str], chunks: dict[str, Chunk], strong: list[Run], fusion: Fusion,
                bm: BM25 | None) -> tuple[list[str], dict[str, tuple[float, float]]]:
        """The re-scorer's order and, per re-scored id, its (best-window match, cosine) evidence."""
        w = self.cfg.rescore
        if w is None or not chunks:
            return order, {}
        top = [c for c in order[: w.top] if c in chunks]
        vectors = [r.vector for r in strong if r.vector is not None]
        return rescore(
            order, {c: chunks[c].text for c in top}, dict(zip(top, self.index.manifest.chunk_tokens(top))),
            [r.query for r in strong], self.index.cosines(top, vectors) or fusion.dense, bm.idf_of,
            w, self.cfg.rrf_k,
        )

    def rerank(self, order: list[str], chunks: dict[str, Chunk], strong: list[Run]) -> list[str]:
        """The cross-encoder's order, when one is configured. Re-orders only: the re-scorer's
        evidence still decides "not covered"."""
        rr = self.cfg.rerank
        if rr is None or not chunks:
            return order
        return rerank(order, {c: chunks[c].text for c in order[: rr.top] if c in chunks}, [r.query for r in strong], rr)

    def by_date(self, order: list[str], chunks: dict[str, Chunk], intent: DateIntent | None, bm: BM25 | None,
                fusion: Fusion) -> list[str]:
        """"First time X" / "latest X": the read passages about the topic, sorted by date
        (``dates.date_order``). About the topic: the share of the topic's IDF weight a passage holds
        (its title and section count); without BM25, its fused score."""
        if intent is None or intent.order is None or not chunks:
            return order
        pool = [c for c in order if c in chunks]
        dates = {c: chunks[c].date for c in pool if chunks[c].date}
        if not dates:
            return order
        if bm is not None and intent.topic:
            toks = dict(zip(pool, (set(t) for t in self.index.manifest.chunk_tokens(pool))))
            # A word no read passage holds tells none of them apart ("时", "怎么" in a small library).
            weights = {t: bm.idf_of(t) for t in set(tokenize(intent.topic)) if any(t in have for have in toks.values())}
            total = sum(weights.values())
            # About the topic means naming its most specific word that the best passage holds
            # ("promptingguide.ai", "RAG"): everyday words ("新", "内容") must not make a passage relevant.
            anchor = max((t for t in weights if t in toks[pool[0]]), key=weights.get, default=None)
            relevance = {c: sum(w for t, w in weights.items() if t in have) / total
                         if total and (anchor is None or anchor in have) else 0.0 for c, have in toks.items()}
        else:
            relevance = {c: fusion.score.get(c, 0.0) for c in pool}
        return date_order(pool, dates, relevance, intent, self.cfg.date_share) + [c for c in order if c not in chunks]

    @staticmethod
    def _hit(cid: str, chunk: Chunk, fusion: Fusion, evidence: dict[str, tuple[float, float]]) -> Hit:
        match, cos = evidence.get(cid, (None, None))
        cos = fusion.dense.get(cid) if cos is None else cos
        # Which retrievers ranked it (the admin's search test shows it): a cosine read back by the
        # re-scorer does not count as found by dense search.
        found = tuple(name for name, ranks in (("dense", fusion.dense), ("bm25", fusion.lexical)) if cid in ranks)
        return Hit(chunk=chunk, score=min(1.0, fusion.score[cid] / (fusion.best_possible or 1.0)), dense=cos,
                   lexical=fusion.lexical.get(cid), match=match, found=found)

    # --- helpers -----------------------------------------------------------------------------------

    def _terms_weight(self, question: Run, terms: str, hidden: int = 0) -> float:
        """Near 1 when the terms match other-language passages better than the question matches
        its own language's (as for a translation, see ``translation_weight``), near 0 when worse."""
        dense = self._visible(self.index.dense_search(self.index.embedder.embed_query_np(terms), self._depth(hidden)),
                              hidden)
        own, (other,) = self._own_and_other(question, [dense])
        return _gate(other - own - self.cfg.terms_gate, self.cfg.also_temp)

    def _own_and_other(self, question: Run, dense_runs: list[Ranking]) -> tuple[float, list[float]]:
        """The question's best cosine among passages in its language, and each other phrasing's
        best among passages in another language (cosines compare only within a language)."""
        q, qdense = question.query, question.dense
        ids = list({cid for dense in (qdense, *dense_runs) for cid, _ in dense})
        lang = self.index.manifest.langs_of(ids)
        q_lang = question_lang(q)
        own = max((s for cid, s in qdense if lang.get(cid) == q_lang), default=0.0)
        return own, [max((s for cid, s in dense if lang.get(cid, q_lang) != q_lang), default=0.0) for dense in dense_runs]
