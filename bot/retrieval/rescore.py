"""A cheap second look at the fused candidates: no model download, a few milliseconds.

Rank fusion throws away how well a passage matched. On the dev set the right document was first
far more often than the right passage of it (the eval's doc_mrr against mrr): the passage that
answers concentrates the question's rare words in one stretch, and its vector sits closest to the
question's. So the top candidates are re-ordered by their fused rank plus
- coverage: the share of the question's IDF weight whose tokens the passage contains,
- best window: the same share inside the passage's best ~160-character stretch,
- cosine: the passage's similarity to the question relative to the best candidate's.
Each phrasing of the question (its translation too) is tried and the best match counts, so a
passage in the other language is judged by the phrasing in its own language.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from bot.core.text import query_weight, tokenize


@dataclass(frozen=True)
class RescoreWeights:
    top: int = 20  # candidates re-ordered (the rest keep their fused order)
    cover: float = 0.1
    window: float = 0.2
    cosine: float = 0.1
    cosine_scale: float = 0.05  # a cosine this far below the best costs ``cosine``
    window_chars: int = 160


def _windows(tokens: list[str], n_chars: int, size_chars: int) -> list[set[str]]:
    """Token sets of overlapping stretches of about ``size_chars`` characters. The stored BM25
    tokens are in text order, so stretches are cut from them: no tokenizer runs at query time."""
    if not tokens:
        return []
    size = max(8, round(len(tokens) * size_chars / max(n_chars, 1)))
    if size >= len(tokens):
        return [set(tokens)]
    step = max(1, size // 2)
    return [set(tokens[i : i + size]) for i in range(0, len(tokens) - step, step)]


def _share(weights: dict[str, float], total: float, tokens: set[str]) -> float:
    return sum(w for t, w in weights.items() if t in tokens) / total if total else 0.0


def rescore(
    order: list[str],
    texts: dict[str, str],
    tokens: dict[str, list[str]],
    phrasings: list[str],
    cosine: dict[str, float],
    idf: Callable[[str], float],
    w: RescoreWeights = RescoreWeights(),
    rrf_k: int = 60,
) -> tuple[list[str], dict[str, tuple[float, float]]]:
    """Returns the new order and, per re-scored id, (best-window share of the question's IDF
    weight, cosine) — the evidence a relevance floor needs.

    ``order``: candidate ids by fused score; ``texts``/``tokens``: their passages and stored
    tokens (ids without them keep their place after the re-ordered ones); ``cosine``: best known
    similarity per id (one without a vector yet is neither rewarded nor penalised)."""
    top = [c for c in order[: w.top] if c in texts]
    if not top:
        return order, {}
    weights = []
    for p in phrasings:
        ws = {t: idf(t) * query_weight(t) for t in set(tokenize(p))}
        weights.append((ws, sum(ws.values())))
    known = [cosine[c] for c in top if c in cosine]
    best_cos = max(known, default=0.0)
    score: dict[str, float] = {}
    evidence: dict[str, tuple[float, float]] = {}
    for i, c in enumerate(top):
        toks = tokens.get(c) or []
        whole = set(toks)
        wins = _windows(toks, len(texts[c]), w.window_chars)
        cover = max((_share(ws, tot, whole) for ws, tot in weights), default=0.0)
        window = max((_share(ws, tot, s) for ws, tot in weights for s in wins), default=0.0)
        evidence[c] = (window, cosine.get(c))
        # A passage still waiting for its vector is not penalised for lacking one (as in fusion).
        cos = (cosine[c] - best_cos) / w.cosine_scale if c in cosine else 0.0
        # The fused order enters as a reciprocal rank (1.0 for the first), as in the fusion itself.
        score[c] = (rrf_k + 1) / (rrf_k + 1 + i) + w.cover * cover + w.window * window + w.cosine * cos
    ranked = sorted(top, key=lambda c: -score[c])
    chosen = set(ranked)
    return ranked + [c for c in order if c not in chosen], evidence
