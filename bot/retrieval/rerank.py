"""Optional cross-encoder re-ranking of the top candidates (``STUDYBOT_RERANKER``).

A cross-encoder reads the question and the passage together, so it judges relevance better than
fusion and the re-scorer, at the price of one transformer pass per (phrasing, passage) pair. None
ships offline (no multilingual re-ranker is on PyPI), so it is off unless a user points the
setting at a local model folder; nothing is ever downloaded.

The retriever only sees a ``Scorer``: pairs in, one relevance score per pair out. That keeps the
ordering logic testable with a fake and the model behind one lazily loaded, shared handle.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bot.core.lazy import Lazy

Scorer = Callable[[list[tuple[str, str]]], list[float]]

SETTING = "STUDYBOT_RERANKER"


class RerankerError(RuntimeError):
    """A one-line, user-facing reason why the configured cross-encoder is not usable."""


@dataclass(frozen=True)
class Reranker:
    score: Scorer
    top: int = 20  # candidates re-ordered (the rest keep their place after them)


def rerank(order: list[str], texts: dict[str, str], phrasings: list[str], reranker: Reranker) -> list[str]:
    """``order`` with its first ``reranker.top`` ids re-ordered by their best cross-encoder score
    over the phrasings: a passage in the other language is judged by the phrasing in its language.
    Ties keep the incoming order; ids without text keep their place after the re-ordered ones."""
    top = [c for c in order[: reranker.top] if c in texts]
    if not top or not phrasings:
        return order
    pairs = [(p, texts[c]) for c in top for p in phrasings]
    scores = list(reranker.score(pairs))
    if len(scores) != len(pairs):
        raise RerankerError(f"the re-ranker returned {len(scores)} scores for {len(pairs)} pairs")
    n = len(phrasings)
    best = {c: max(scores[i * n : (i + 1) * n]) for i, c in enumerate(top)}
    ranked = sorted(top, key=lambda c: -best[c])
    chosen = set(ranked)
    return ranked + [c for c in order if c not in chosen]


# --- the sentence-transformers CrossEncoder behind a Scorer ---------------------------------


def check_cross_encoder(path: str | Path) -> Path:
    """Validate a user-supplied cross-encoder folder without loading it; returns it resolved.

    A folder of an embedding model would load as a cross-encoder too, with a randomly initialised
    head, and silently rank at random: it is refused here."""
    p = Path(path).expanduser()
    where = f"{SETTING} points to {p}"
    if not p.exists():
        raise RerankerError(f"{where}, which does not exist")
    if not p.is_dir():
        raise RerankerError(f"{where}, which is not a folder (a cross-encoder is a model folder with config.json)")
    try:
        config = json.loads((p / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RerankerError(f"{where}, which has no config.json: not a Hugging Face model folder") from None
    except (OSError, ValueError) as e:
        raise RerankerError(f"{where}: cannot read its config.json ({e})") from None
    arch = [str(a) for a in config.get("architectures") or []]
    if not any(a.endswith("ForSequenceClassification") for a in arch):
        kind = ", ".join(arch) or config.get("model_type") or "unknown"
        raise RerankerError(
            f"{where}, which holds a {kind} model, not a cross-encoder (a re-ranker such as bge-reranker-v2-m3 "
            "is a …ForSequenceClassification model with one output)"
        )
    labels = len(config.get("id2label") or {}) or int(config.get("num_labels", 1))
    if labels != 1:
        raise RerankerError(f"{where}, a classifier with {labels} outputs: a re-ranker gives one relevance score")
    if not any(p.glob("*.safetensors")) and not any(p.glob("pytorch_model*.bin")):
        raise RerankerError(f"{where}, which has no weights (model.safetensors or pytorch_model.bin)")
    return p.resolve()


class CrossEncoderScorer:
    """A local sentence-transformers CrossEncoder, loaded on first use from disk only."""

    def __init__(self, path: Path, batch_size: int = 16) -> None:
        self.path = path
        self.batch_size = batch_size
        self._m = Lazy(self._load)
        # One scoring pass at a time: a fast tokenizer shared by threads mid-call fails ("Already
        # borrowed"), and on a laptop CPU concurrent passes would not be faster anyway.
        self._lock = threading.Lock()

    def _load(self):
        try:
            from sentence_transformers import CrossEncoder

            return CrossEncoder(str(self.path), device="cpu", local_files_only=True)
        except Exception as e:  # noqa: BLE001 - any loader failure becomes one line naming the setting
            raise RerankerError(f"{SETTING}={self.path}: cannot load it as a cross-encoder: {e}") from e

    def __call__(self, pairs: list[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        model = self._m()
        with self._lock:
            out = model.predict([list(p) for p in pairs], batch_size=self.batch_size, show_progress_bar=False,
                                convert_to_numpy=True)
        return [float(x) for x in out.reshape(len(pairs), -1)[:, 0]]


def cross_encoder(path: str | Path) -> CrossEncoderScorer:
    """A new scorer for a cross-encoder folder (validated now, loaded on first use). A process shares
    one per folder: ``bot.components.Components.cross_encoder``."""
    return CrossEncoderScorer(check_cross_encoder(path))


def reranker_from_settings(settings, scorer: Callable[[str], Scorer] = cross_encoder) -> Reranker | None:
    """The configured re-ranker, or None when ``settings.reranker`` is unset. Raises RerankerError
    for a path that is not a cross-encoder folder. ``scorer``: folder -> Scorer (the shared one)."""
    path = (settings.reranker or "").strip()
    if not path:
        return None
    return Reranker(scorer(path), settings.reranker_top)
