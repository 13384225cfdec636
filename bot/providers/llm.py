"""LLM providers as LangChain chat models, chosen by ``settings.llm``.

Every provider raises :class:`LLMUnavailable` with a one-line, user-facing message when
it fails, so the answer chain can show what to do next beside the retrieved passages.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import httpx
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from bot.core.settings import Settings
from bot.core.text import has_cjk
from bot.providers import local_model

log = logging.getLogger(__name__)

OPENAI_DEFAULT_BASE = "https://api.openai.com/v1"
_CHECK_TIMEOUT = 5.0


class LLMUnavailable(Exception):
    """str() is a one-line message telling the user what to do."""


class IncompleteStream(Exception):
    """The server ended a stream without its end-of-answer marker (connection dropped)."""


# --- context for messages -------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    provider: str  # local | ollama | openai | fake
    url: str = ""
    model: str = ""
    timeout: float | None = None

    @property
    def who(self) -> str:
        if self.provider == "ollama":
            return f"Ollama at {self.url}" if self.url else "Ollama"
        if self.provider == "openai":
            return f"the OpenAI-compatible API at {self.url}" if self.url else "the OpenAI-compatible API"
        return "the local model" if self.provider == "local" else "the LLM"


def _exc_names(exc: BaseException) -> set[str]:
    # httpx and its drop-in httpx2 (used by openai>=3) share class names, not classes.
    return {c.__name__ for c in type(exc).__mro__}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def _one_line(text: str, limit: int = 160) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status_of(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    if isinstance(code, int) and code > 0:
        return code
    resp = getattr(exc, "response", None)
    code = getattr(resp, "status_code", None)
    return code if isinstance(code, int) else None


def _detail_of(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        msg = err.get("message") if isinstance(err, dict) else err
        if msg:
            return _one_line(msg)
    err = getattr(exc, "error", None)  # ollama.ResponseError
    if isinstance(err, str) and err:
        return _one_line(err)
    return _one_line(str(exc))


def _url_of(exc: BaseException) -> str:
    for attr in ("request", "response"):
        try:
            obj = getattr(exc, attr, None)
        except RuntimeError:  # httpx raises when no request is attached
            obj = None
        if obj is not None and attr == "response":
            obj = getattr(obj, "request", None)
        url = getattr(obj, "url", None)
        if url is not None:
            parts = urlsplit(str(url))
            return f"{parts.scheme}://{parts.netloc}"
    return ""


def _guess_where(exc: BaseException) -> _Where:
    """Context for an exception that did not come through one of our wrappers."""
    for e in _chain(exc):
        mod = type(e).__module__.split(".")[0]
        if mod == "openai":
            return _Where("openai", _url_of(e))
        if mod == "ollama":
            return _Where("ollama", _url_of(e))
        if mod == "llama_cpp" or isinstance(e, local_model.LocalModelError):
            return _Where("local")
        if mod in ("httpx", "httpx2"):
            url = _url_of(e)
            try:
                path = str(e.request.url.path)  # type: ignore[attr-defined]
            except (AttributeError, RuntimeError):
                path = ""
            return _Where("ollama" if path.startswith("/api/") else "openai", url)
    return _Where("")


def _describe(exc: BaseException, w: _Where) -> str:
    """Map any provider exception to a one-line, actionable message."""
    for e in _chain(exc):
        if isinstance(e, LLMUnavailable):
            return str(e)
        if isinstance(e, local_model.LocalModelError):
            return str(e)
        if isinstance(e, ImportError) and "llama_cpp" in str(e):
            return "llama-cpp-python is not installed — run `pip install 'studybot[local]'` or set STUDYBOT_LLM=ollama|openai"

    names = set().union(*(_exc_names(e) for e in _chain(exc)))
    status = next((s for e in _chain(exc) if (s := _status_of(e))), None)
    detail = _detail_of(next((e for e in _chain(exc) if _status_of(e)), exc))

    if names & {"TimeoutException", "APITimeoutError", "TimeoutError", "ReadTimeout", "ConnectTimeout"}:
        secs = f" within {w.timeout:g}s" if w.timeout else " in time"
        return f"{w.who} did not answer{secs} — it may be busy or still loading the model; try again or raise STUDYBOT_LLM_TIMEOUT"
    if status is not None:
        return _describe_status(status, detail, w)
    # Checked before connection errors: ConnectionResetError is a ConnectionError too.
    if names & {"IncompleteStream", "RemoteProtocolError", "ReadError", "StreamError", "IncompleteRead",
                "ConnectionResetError", "BrokenPipeError"}:
        return f"{w.who} closed the connection in the middle of the answer — try again"
    if names & {"ConnectError", "ConnectionError", "APIConnectionError", "ConnectionRefusedError", "gaierror"}:
        if w.provider == "ollama":
            where = f" at {w.url}" if w.url else ""
            return f"Ollama is not reachable{where} — start it with `ollama serve` (or set STUDYBOT_OLLAMA_HOST)"
        if w.provider == "openai":
            return f"{w.who} is not reachable — check STUDYBOT_OPENAI_BASE_URL and that the server is running"
        return f"{w.who} is not reachable: {_one_line(exc)}"
    text = " ".join(str(e) for e in _chain(exc))
    if "context window" in text or "exceed context" in text:
        return (f"the question and passages do not fit the local model's context ({_one_line(text, 100)}) — "
                "raise STUDYBOT_LLM_CTX or lower STUDYBOT_CONTEXT_CHARS")
    if w.provider == "local":
        return f"the local model failed: {type(exc).__name__}: {_one_line(exc)}"
    return f"{w.who} failed: {type(exc).__name__}: {_one_line(exc)}"


def _describe_status(status: int, detail: str, w: _Where) -> str:
    if w.provider == "ollama" and (status == 404 or "not found" in detail.lower()):
        model = w.model or _model_from_detail(detail)
        return f"Ollama has no model {model} — run `ollama pull {model}`" if model else f"Ollama answered 404: {detail}"
    if status in (401, 403):
        hint = "check STUDYBOT_OPENAI_API_KEY" if w.provider == "openai" else "check its credentials"
        return f"{w.who} answered {status}: {hint}"
    if status == 404:
        model = f" for model {w.model}" if w.model else ""
        return f"{w.who} answered 404{model}: check STUDYBOT_OPENAI_MODEL and STUDYBOT_OPENAI_BASE_URL ({detail})"
    if status == 429:
        return f"{w.who} answered 429 (rate limit or quota): wait a moment or check your plan"
    return f"{w.who} answered {status}: {detail}"


def _model_from_detail(detail: str) -> str:
    m = re.search(r"model ['\"]?([^'\"\s]+)['\"]? not found", detail)
    return m.group(1) if m else ""


def explain_error(exc: BaseException, settings: Settings | None = None) -> str:
    """A one-line, user-facing message for any exception raised by a provider."""
    if isinstance(exc, LLMUnavailable):
        return str(exc)
    w = _guess_where(exc)
    if settings is not None and (not w.provider or w.provider == settings.llm):
        w = _where_for(settings)
    return _describe(exc, w)


# --- guarded provider wrappers -----------------------------------------------------------


def _finished(chunk: ChatGenerationChunk) -> bool:
    info = chunk.generation_info or {}
    return bool(info.get("finish_reason") or info.get("done"))


def _check_finished(finished: bool) -> None:
    if not finished:
        raise IncompleteStream("stream ended without a finish marker")


class _Guarded:
    """Mixin: translate provider exceptions into LLMUnavailable with full context.

    Also turns a stream that ends without the server's end marker into an error, since a
    dropped close-delimited response otherwise looks like a short, complete answer.
    """

    def _where(self) -> _Where:  # pragma: no cover - overridden
        raise NotImplementedError

    def _fail(self, e: Exception) -> LLMUnavailable:
        return LLMUnavailable(_describe(e, self._where()))

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except LLMUnavailable:
            raise
        except Exception as e:
            raise self._fail(e) from e

    def _generate(self, *a: Any, **kw: Any) -> ChatResult:
        with self._translated():
            return super()._generate(*a, **kw)  # type: ignore[misc]

    def _stream(self, *a: Any, **kw: Any) -> Iterator[ChatGenerationChunk]:
        with self._translated():
            finished = False
            for chunk in super()._stream(*a, **kw):  # type: ignore[misc]
                finished = finished or _finished(chunk)
                yield chunk
            _check_finished(finished)

    async def _agenerate(self, *a: Any, **kw: Any) -> ChatResult:
        with self._translated():
            return await super()._agenerate(*a, **kw)  # type: ignore[misc]

    async def _astream(self, *a: Any, **kw: Any):
        with self._translated():
            finished = False
            async for chunk in super()._astream(*a, **kw):  # type: ignore[misc]
                finished = finished or _finished(chunk)
                yield chunk
            _check_finished(finished)


@cache  # defined lazily so the client libraries load only for the provider in use
def _ollama_class():
    from langchain_ollama import ChatOllama

    class StudyChatOllama(_Guarded, ChatOllama):
        timeout_s: float | None = None

        def _where(self) -> _Where:
            return _Where("ollama", self.base_url or "", self.model, self.timeout_s)

    return StudyChatOllama


@cache
def _openai_class():
    from langchain_openai import ChatOpenAI

    class StudyChatOpenAI(_Guarded, ChatOpenAI):
        def _where(self) -> _Where:
            t = self.request_timeout if isinstance(self.request_timeout, (int, float)) else None
            return _Where("openai", (self.openai_api_base or OPENAI_DEFAULT_BASE).rstrip("/"), self.model_name, t)

    return StudyChatOpenAI


# --- the in-process llama.cpp model ----------------------------------------------------------

class LlamaHandles:
    """Loaded llama.cpp models. Llama objects are large and not thread-safe: one per (path, ctx,
    threads) for all the chat models that share these handles (a process shares one set, owned by
    ``bot.components.Components``), each with its own lock so concurrent chats queue instead of
    corrupting the KV cache."""

    def __init__(self) -> None:
        self._loaded: dict[tuple[str, int, int], tuple[Any, threading.Lock]] = {}
        self._lock = threading.Lock()

    def get(self, path: str, n_ctx: int, n_threads: int) -> tuple[Any, threading.Lock]:
        key = (path, n_ctx, n_threads)
        with self._lock:  # held while loading so two first requests don't load twice
            entry = self._loaded.get(key)
            if entry is None:
                from llama_cpp import Llama

                llama = Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
                entry = (llama, threading.Lock())
                self._loaded[key] = entry
            return entry


_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}


def _text_of(msg: BaseMessage) -> str:
    if isinstance(msg.content, str):
        return msg.content
    return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in msg.content)


def _to_chat_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    return [{"role": _ROLES.get(m.type, "user"), "content": _text_of(m)} for m in messages]


class ChatLlamaCpp(BaseChatModel):
    """llama.cpp in-process; the chat template (Qwen's ChatML) comes from the GGUF."""

    model_path: str
    n_ctx: int = 4096
    n_threads: int = 2
    max_tokens: int = 512
    temperature: float = 0.2
    # Where the weights live once loaded: pass the process's shared handles, or each chat model
    # loads (and holds) its own copy.
    handles: LlamaHandles = Field(default_factory=LlamaHandles, exclude=True, repr=False)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, "max_tokens": self.max_tokens}

    def _fail(self, e: Exception) -> LLMUnavailable:
        return LLMUnavailable(_describe(e, _Where("local", model=self.model_path)))

    def _llama(self) -> tuple[Any, threading.Lock]:
        try:
            return self.handles.get(self.model_path, self.n_ctx, self.n_threads)
        except Exception as e:
            raise self._fail(e) from e

    def load(self) -> None:
        """Map the weights and run one token now, so the first question does not pay for either
        (the first pass faults the whole file into memory and repacks weights)."""
        llama, lock = self._llama()
        with lock:
            llama.create_completion("hi", max_tokens=1)

    def _call_kwargs(self, stop: list[str] | None, kw: dict[str, Any]) -> dict[str, Any]:
        return {
            "max_tokens": kw.get("max_tokens", self.max_tokens),
            "temperature": kw.get("temperature", self.temperature),
            "stop": stop or [],
        }

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        llama, lock = self._llama()
        try:
            with lock:
                out = llama.create_chat_completion(
                    messages=_to_chat_messages(messages), stream=False, **self._call_kwargs(stop, kwargs)
                )
        except Exception as e:
            raise self._fail(e) from e
        choice = out["choices"][0]
        msg = AIMessage(content=choice["message"].get("content") or "",
                        response_metadata={"finish_reason": choice.get("finish_reason")})
        return ChatResult(generations=[ChatGeneration(message=msg)], llm_output={"usage": out.get("usage")})

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        llama, lock = self._llama()
        # The lock is held for the whole generation; closing the generator releases it.
        with lock:
            try:
                parts = llama.create_chat_completion(
                    messages=_to_chat_messages(messages), stream=True, **self._call_kwargs(stop, kwargs)
                )
                for part in parts:
                    choice = part["choices"][0]
                    text = (choice.get("delta") or {}).get("content") or ""
                    finish = choice.get("finish_reason")
                    if not text and not finish:
                        continue
                    chunk = ChatGenerationChunk(
                        message=AIMessageChunk(content=text),
                        generation_info={"finish_reason": finish} if finish else None,
                    )
                    if run_manager and text:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk
            except Exception as e:
                raise self._fail(e) from e


# --- the deterministic fake -----------------------------------------------------------------

def fake_answer(messages: list[BaseMessage]) -> str:
    last = next((m for m in reversed(messages) if m.type == "human"), None)
    text = re.sub(r"\s+", " ", _text_of(last) if last else "").strip()
    quote = text[:80] + ("…" if len(text) > 80 else "")
    if has_cjk(text):
        return f"根据资料：「{quote}」"
    return f"According to the library: \"{quote}\""


class FakeChatModel(BaseChatModel):
    """No network, no randomness: quotes the question back in a few chunks."""

    chunk_chars: int = 12

    @property
    def _llm_type(self) -> str:
        return "studybot-fake"

    def _pieces(self, messages: list[BaseMessage]) -> list[str]:
        text = fake_answer(messages)
        n = self.chunk_chars
        return [text[i : i + n] for i in range(0, len(text), n)]

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        msg = AIMessage(content="".join(self._pieces(messages)), response_metadata={"finish_reason": "stop"})
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator[ChatGenerationChunk]:
        pieces = self._pieces(messages)
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            chunk = ChatGenerationChunk(
                message=AIMessageChunk(content=piece), generation_info={"finish_reason": "stop"} if last else None
            )
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk


# --- choosing, checking, describing ----------------------------------------------------------


def normalize_ollama_host(host: str | None) -> str:
    """Accept OLLAMA_HOST's forms ("127.0.0.1:11434", ":11434", "host") as a full URL."""
    host = (host or "").strip().rstrip("/")
    had_scheme = "://" in host
    parts = urlsplit(host if had_scheme else "http://" + host)
    hostname = parts.hostname or "127.0.0.1"
    if ":" in hostname:  # IPv6 literal
        hostname = f"[{hostname}]"
    # A bare host means Ollama's port; an explicit scheme keeps its own default, as in ollama's client.
    port = parts.port or (None if had_scheme else 11434)
    netloc = f"{hostname}:{port}" if port else hostname
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _openai_key(settings: Settings) -> str:
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    if key:
        return key
    if settings.openai_base_url.rstrip("/") == OPENAI_DEFAULT_BASE:
        raise LLMUnavailable(f"STUDYBOT_OPENAI_API_KEY is not set (needed for {OPENAI_DEFAULT_BASE})")
    # Self-hosted servers (vLLM, llama_cpp.server) ignore the key but the SDK insists on one.
    return "not-needed"


def _where_for(settings: Settings) -> _Where:
    if settings.llm == "ollama":
        return _Where("ollama", normalize_ollama_host(settings.ollama_host), settings.ollama_model, settings.llm_timeout)
    if settings.llm == "openai":
        return _Where("openai", settings.openai_base_url.rstrip("/"), settings.openai_model, settings.llm_timeout)
    return _Where(settings.llm)


def make_chat_model(settings: Settings, llamas: LlamaHandles | None = None) -> BaseChatModel | None:
    """The chat model for ``settings.llm``; None when answering without an LLM. ``llamas``: the
    loaded local models to share (``Components.llamas``); without it a local model loads its own."""
    kind = settings.llm
    if kind == "none":
        return None
    if kind == "fake":
        return FakeChatModel()
    if kind == "local":
        try:
            import llama_cpp  # noqa: F401 - fail early with the install hint
        except ImportError as e:
            raise LLMUnavailable(_describe(e, _Where("local"))) from e
        try:
            path = local_model.resolve_model_path(settings)
        except local_model.LocalModelError as e:
            raise LLMUnavailable(str(e)) from e
        return ChatLlamaCpp(
            model_path=str(path),
            n_ctx=settings.llm_ctx,
            n_threads=settings.llm_threads,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            **({"handles": llamas} if llamas is not None else {}),
        )
    if kind == "ollama":
        cls = _ollama_class()
        return cls(
            base_url=normalize_ollama_host(settings.ollama_host),
            model=settings.ollama_model,
            num_ctx=settings.ollama_num_ctx,
            num_predict=settings.max_tokens,
            temperature=settings.temperature,
            # httpx applies it per connect/read, so a stalled stream fails too, not just a slow start.
            client_kwargs={"timeout": settings.llm_timeout},
            timeout_s=settings.llm_timeout,
        )
    if kind == "openai":
        cls = _openai_class()
        return cls(
            base_url=settings.openai_base_url,
            api_key=_openai_key(settings),
            model=settings.openai_model,
            timeout=settings.llm_timeout,
            max_retries=1,
            streaming=True,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
        )
    raise LLMUnavailable(f"unknown LLM provider {kind!r}: use local, ollama, openai, fake or none")


def _ollama_names(payload: Any) -> set[str]:
    names: set[str] = set()
    for m in (payload or {}).get("models", []) or []:
        for key in ("name", "model"):
            if isinstance(m, dict) and m.get(key):
                names.add(_with_tag(m[key]))
    return names


def _with_tag(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"


def check_llm(settings: Settings, *, prepare: bool = False) -> None:
    """Raise LLMUnavailable if the configured provider cannot answer; quick, never hangs.

    For the local provider a named model that is not assembled yet is fine (it is
    assembled on first use) unless ``prepare`` asks to assemble it now.
    """
    w = _where_for(settings)
    timeout = min(_CHECK_TIMEOUT, settings.llm_timeout)
    if settings.llm == "ollama":
        try:
            r = httpx.get(f"{w.url}/api/tags", timeout=timeout)
        except Exception as e:
            raise LLMUnavailable(_describe(e, w)) from e
        if r.status_code != 200:
            raise LLMUnavailable(_describe_status(r.status_code, _one_line(r.text), w))
        try:
            names = _ollama_names(r.json())
        except ValueError as e:
            raise LLMUnavailable(f"{w.who} did not answer like Ollama (GET /api/tags is not JSON)") from e
        if _with_tag(settings.ollama_model) not in names:
            raise LLMUnavailable(f"Ollama has no model {settings.ollama_model} — run `ollama pull {settings.ollama_model}`")
    elif settings.llm == "openai":
        key = _openai_key(settings)
        try:
            r = httpx.get(f"{w.url}/models", headers={"Authorization": f"Bearer {key}"}, timeout=timeout)
        except Exception as e:
            raise LLMUnavailable(_describe(e, w)) from e
        # Other statuses are tolerated: not every compatible server implements /models.
        if r.status_code in (401, 403):
            raise LLMUnavailable(_describe_status(r.status_code, "", w))
    elif settings.llm == "local":
        try:
            import llama_cpp  # noqa: F401
        except ImportError as e:
            raise LLMUnavailable(_describe(e, _Where("local"))) from e
        try:
            if prepare or not local_model.is_named(settings.local_model):
                local_model.resolve_model_path(settings)
        except local_model.LocalModelError as e:
            raise LLMUnavailable(str(e)) from e


def describe_llm(settings: Settings) -> tuple[str, str]:
    """(provider, model label) for display."""
    if settings.llm == "local":
        return "local", local_model.model_label(settings.local_model)
    if settings.llm == "ollama":
        return "ollama", settings.ollama_model
    if settings.llm == "openai":
        return "openai", settings.openai_model
    if settings.llm == "fake":
        return "fake", "fake (echo)"
    return "none", "retrieval only"
