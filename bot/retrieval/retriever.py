"""Hybrid retrieval: dense (Chroma) and lexical (BM25 over jieba tokens), fused by weighted RRF.

Measured on this project's seeds: BM25 is strong on Chinese and e5-small is weak there but good
across languages, so lexical evidence weighs more when the query contains Chinese. Vectors may be
partial (they are filled in after BM25): dense search ranks what has a vector. The top candidates
are then re-ordered by the re-scorer (bot/retrieval/rescore.py) and, when one is configured, a cross-encoder
(bot/retrieval/rerank.py).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from bot.core.text import detect_lang, has_cjk, question_lang
from bot.core.types import Hit
from bot.index.store import Index
from bot.retrieval.rerank import Reranker, rerank
from bot.retrieval.rescore import RescoreWeights, rescore


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
    # an unconditional translation pushed same-language answers down (dev: concept hit@5 0.94 -> 0.68).
    # Its weight is a logistic in (best cosine of the translation among other-language passages -
    # best cosine of the question among its own-language ones), centred at ``also_gate``.
    also_gate: float = 0.0
    also_temp: float = 0.015
    # Glossary terms (bot/retrieval/glossary.py) are searched by BM25 only, at most at this weight relative
    # to the question, and never judge passages in the re-scorer: a bag of terms is not a question.
    # Gated like a translation (centred at ``terms_gate``): ungated, English questions about
    # English pages lost their answers to Chinese passages sharing a term (dev concept hit@5
    # 0.94 -> 0.82 at weight 2). Dev sweep, no LLM: weight 2 / gate 0.02 best of 1-4 / -0.02-0.04.
    w_terms: float = 2.0
    terms_gate: float = 0.02
    same_lang: float = 0.0  # score bonus (fraction) for passages in the question's language
    rescore: RescoreWeights | None = field(default_factory=RescoreWeights)  # None: fused order only
    rerank: Reranker | None = None  # a cross-encoder after the re-scorer (STUDYBOT_RERANKER); None: off


def translation_weight(own: float, other: float, cfg: FusionConfig) -> float:
    """Weight of a translation whose best other-language cosine is ``other`` when the question's
    best own-language cosine is ``own``: ``w_also`` when it clearly matches better, ~0 when worse."""
    return cfg.w_also * _gate(other - own - cfg.also_gate, cfg.also_temp)


def _gate(x: float, temp: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x / temp))))


def _trigrams(text: str) -> set[str]:
    t = re.sub(r"\s+", "", text)
    return {t[i : i + 3] for i in range(max(1, len(t) - 2))}


def _near_dup(a: set[str], b: set[str], threshold: float) -> bool:
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= threshold


# One search, plus a retry for each ingest that commits while it runs (rare: only during a re-index).
SEARCH_ATTEMPTS = 3


class Retriever:
    def __init__(self, index: Index, config: FusionConfig | None = None) -> None:
        self.index = index
        self.cfg = config or FusionConfig()

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
        queries = [q.strip() for q in [query, *also] if q and q.strip()]
        if not queries:
            return [], False
        fused: dict[str, float] = {}
        dense_s: dict[str, float] = {}
        lex_s: dict[str, float] = {}
        best_possible = 0.0
        if cfg.mode in ("hybrid", "dense"):
            self.index.check_embedder()
        # One BM25 handle per search: each call checks the manifest's generation.
        bm = self.index.bm25() if cfg.mode in ("hybrid", "bm25") or cfg.rescore is not None else None
        runs = []
        qvecs = {}
        for q in queries:
            dense = []
            if cfg.mode in ("hybrid", "dense"):
                qvecs[q] = self.index.embedder.embed_query_np(q)
                dense = self.index.dense_search(qvecs[q], cfg.candidates)
            lexical = bm.search(q, cfg.candidates) if cfg.mode in ("hybrid", "bm25") else []
            runs.append((q, dense, lexical))
        scales = self._phrasing_weights(runs)
        for (q, dense, lexical), scale in zip(runs, scales):
            if scale <= 0:
                continue
            w_lex = 0.0 if cfg.mode == "dense" else (cfg.w_lex_cjk if has_cjk(q) else cfg.w_lex_latin) * scale
            w_dense = 0.0 if cfg.mode == "bm25" else cfg.w_dense * scale
            for rank, (cid, s) in enumerate(dense):
                fused[cid] = fused.get(cid, 0.0) + w_dense / (cfg.rrf_k + rank + 1)
                dense_s[cid] = max(dense_s.get(cid, s), s)
            # A passage still waiting for its vector (a source added a minute ago) borrows its BM25
            # rank for the dense side: it must not lose to a mediocre dense hit for lack of a vector.
            pending = self.index.manifest.unembedded_among([c for c, _ in lexical]) if w_dense and lexical else set()
            for rank, (cid, s) in enumerate(lexical):
                fused[cid] = fused.get(cid, 0.0) + (w_lex + (w_dense if cid in pending else 0.0)) / (cfg.rrf_k + rank + 1)
                lex_s[cid] = max(lex_s.get(cid, s), s)
            best_possible += (w_dense + w_lex) / (cfg.rrf_k + 1)
        # Only with a dense side to gate them: ungated, the terms outweigh same-language answers.
        if bm is not None and cfg.mode == "hybrid" and cfg.w_terms > 0 and runs[0][1]:
            for t in terms:
                w_t = cfg.w_terms * self._terms_weight(runs[0], t)
                for rank, (cid, s) in enumerate(bm.search(t, cfg.candidates)):
                    fused[cid] = fused.get(cid, 0.0) + w_t / (cfg.rrf_k + rank + 1)
                    lex_s.setdefault(cid, s)
                best_possible += w_t / (cfg.rrf_k + 1)
        best_possible = best_possible or 1.0

        order = sorted(fused, key=lambda c: -fused[c])
        wanted = order[: max(k * 4, 20, cfg.rerank.top if cfg.rerank else 0)]
        chunks = self.index.manifest.load_chunks(wanted)
        lost = len(chunks) < len(wanted)
        if cfg.same_lang and chunks:
            # A library often holds the same page in both languages: the question's language wins a tie.
            qlang = detect_lang(query)
            for cid, ch in chunks.items():
                if ch.lang == qlang:
                    fused[cid] *= 1 + cfg.same_lang
            order = sorted(chunks, key=lambda c: -fused[c]) + order[len(chunks):]
        evidence: dict[str, tuple[float, float]] = {}
        # Only phrasings that carry weight judge the passages: a translation the gate turned
        # down would otherwise pull the question's other-language twin back up.
        strong = [q for (q, _, _), w in zip(runs, scales) if w >= 0.5]
        if cfg.rescore is not None and chunks:
            top = [c for c in order[: cfg.rescore.top] if c in chunks]
            order, evidence = rescore(
                order, {c: chunks[c].text for c in top}, dict(zip(top, self.index.manifest.chunk_tokens(top))),
                strong, self._cosines(top, [qvecs[q] for q in strong if q in qvecs]) or dense_s, bm.idf_of,
                cfg.rescore, cfg.rrf_k,
            )
        if cfg.rerank is not None and chunks:
            # Re-orders only: the re-scorer's evidence above still decides "not covered".
            order = rerank(order, {c: chunks[c].text for c in order[: cfg.rerank.top] if c in chunks}, strong, cfg.rerank)
        hits: list[Hit] = []
        grams: list[set[str]] = []
        for cid in order:
            ch = chunks.get(cid)
            if ch is None:
                continue  # deleted since it was found (a re-index, or an orphan vector reconcile will drop)
            g = _trigrams(ch.text)
            if any(_near_dup(g, o, cfg.dedupe) for o in grams):
                continue
            grams.append(g)
            match, cos = evidence.get(cid, (None, None))
            cos = dense_s.get(cid) if cos is None else cos
            hits.append(Hit(chunk=ch, score=fused[cid] / best_possible, dense=cos, lexical=lex_s.get(cid), match=match))
            if len(hits) >= k:
                break
        return hits, lost

    def _cosines(self, ids: list[str], qvecs: list) -> dict[str, float]:
        """Exact best cosine of each candidate to the phrasings: one found by BM25 alone has no
        dense rank to read it from. Candidates without a vector yet are left out."""
        if not qvecs:
            return {}
        got = self.index.stored_vectors(ids)
        if not got:
            return {}
        ids = list(got)
        m = np.stack([got[i] for i in ids]) @ np.stack(qvecs).T
        return dict(zip(ids, m.max(axis=1).tolist()))

    def _terms_weight(self, run, terms: str) -> float:
        """Near 1 when the terms match other-language passages better than the question matches
        its own language's (as for a translation, see ``translation_weight``), near 0 when worse."""
        dense = self.index.dense_search(self.index.embedder.embed_query_np(terms), self.cfg.candidates)
        own, (other,) = self._own_and_other(run, [dense])
        return _gate(other - own - self.cfg.terms_gate, self.cfg.also_temp)

    def _phrasing_weights(self, runs: list[tuple[str, list, list]]) -> list[float]:
        """1 for the question; for each translation, ``w_also`` scaled by how much better it
        matches passages in its own language than the question matches passages in the question's."""
        cfg = self.cfg
        if len(runs) < 2 or cfg.mode == "bm25" or not runs[0][1]:
            return [1.0] + [cfg.w_also] * (len(runs) - 1)
        own, others = self._own_and_other(runs[0], [dense for _, dense, _ in runs[1:]])
        return [1.0] + [translation_weight(own, other, cfg) for other in others]

    def _own_and_other(self, run, dense_runs: list[list]) -> tuple[float, list[float]]:
        """The question's best cosine among passages in its language, and each other phrasing's
        best among passages in another language (cosines compare only within a language)."""
        q, qdense, _ = run
        ids = list({cid for dense in (qdense, *dense_runs) for cid, _ in dense})
        lang = self.index.manifest.langs_of(ids)
        q_lang = question_lang(q)
        own = max((s for cid, s in qdense if lang.get(cid) == q_lang), default=0.0)
        return own, [max((s for cid, s in dense if lang.get(cid, q_lang) != q_lang), default=0.0) for dense in dense_runs]


_REFERENTIAL = re.compile(
    r"^(那|那么|这|它|他们|其|还有|然后|接下来|下一|上面|之后)|呢[？?]?$|\b(it|its|this|that|these|those|they|them|then|next|the second|the third)\b"
    r"|^(and|but|so|also)\b|\b(what|how) about\b",
    re.I,
)


BORROW_CHARS = 200


def contextual_query(question: str, history: list[dict] | None) -> str:
    """Rewrite a follow-up ("那第二阶段呢？") into a standalone retrieval query using the last user turn."""
    if not history:
        return question
    prev = next((m.get("content") for m in reversed(history) if m.get("role") == "user" and m.get("content")), None)
    if not isinstance(prev, str) or not prev.strip():
        return question
    q = question.strip()
    # Only a fragment ("多久？", "why?") leans on the last turn by length alone; a short question
    # with its own subject ("What is the barbell reading method?") stands on its own.
    fragment = len(re.sub(r"\W", "", q)) <= 4 if has_cjk(q) else len(q.split()) <= 2
    if fragment or _REFERENTIAL.search(q):
        # The turn borrowed is clipped as the prompt clips it: whole, a pasted page (refused as a
        # question) came back inside every short follow-up's query and slowed everyone's search.
        prev = prev.strip()[:BORROW_CHARS]
        if _ORDINAL.search(q):
            # "那第二阶段呢？" after "第一阶段学什么？": the new number replaces the old one. Kept, the
            # old one matches every sibling passage ("第一/三/六阶段…") as well as the one asked for.
            prev = re.sub(r"\s+", " ", _ORDINAL.sub("", prev)).strip() or prev
        return f"{prev} {q}"
    return question


# An ordinal or numbered item: 第二阶段 / 第3章 / step 2 / the second / chapter 5.
_ORDINAL = re.compile(
    r"第\s*[一二三四五六七八九十百\d]+|\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)\b"
    r"|\b(?:step|stage|phase|part|chapter|week|month|lesson|level)\s*\d+\b",
    re.I,
)
