"""An OpenAI-compatible API at /v1, so other chat front-ends (Open WebUI, any OpenAI client) can use
studybot as a "model": ``GET /v1/models`` and ``POST /v1/chat/completions`` (streamed as SSE or not).

A thin layer over the chat's own functions: the last user message is the question, the earlier user and
assistant turns are the history (read by ``ui.chat.api_turns`` exactly as the ``ask`` API reads its
own), and the answer comes from ``StudyBot.ask_stream``. The reply's text ends with a numbered source
list (for clients that show only the text); the response also carries ``citations``, ``evidence`` and a
``studybot`` object (status, provider, model, timings) as extra fields, in the last chunk when streamed.

    add_openai_api(server, bot, settings, running=2, waiting=64)   # before the "/" mount

Off unless a key is configured (``STUDYBOT_API_KEY_FILE`` or ``STUDYBOT_API_KEY``): then every /v1
path answers 404. With a key, a request without ``Authorization: Bearer <key>`` gets 401; wrong keys
back off per client address like the admin login. At most ``running`` answers are made at once and
``waiting`` more wait their turn; past that a caller gets 429 at once (one local model on a laptop).
"""
from __future__ import annotations

import hmac
import json
import logging
import math
import secrets
import time
from pathlib import Path
from typing import Any, AsyncIterator

import anyio
from fastapi import Request
from starlette.responses import JSONResponse, StreamingResponse

from bot.answering.chain import answer_lang
from bot.core.citation import cite_label
from bot.core.settings import Settings
from bot.service import Answer, StudyBot
from ui.chat import CLOSEST_TITLE, SOURCES_TITLE, BadRequest, api_turns, learner_json
from ui.limits import Backoff, client_key

log = logging.getLogger("studybot.security")

MODEL_ID = "studybot"
MIN_KEY_CHARS = 16
# More turns than any conversation a person has; only the last few are read (ui.chat.HISTORY_MESSAGES).
MAX_MESSAGES = 256
# Written before the source list: clients send the whole conversation back, and the list of an earlier
# reply is not conversation (the browser chat keeps it in a separate message for the same reason).
# An HTML comment, so Markdown renderers show nothing.
SOURCES_MARK = "<!-- studybot:sources -->"
ROLES = ("system", "developer", "user", "assistant", "tool", "function")


class ApiKeyError(ValueError):
    """The configured API key cannot be used; str(e) says why and what to do."""


def api_key(settings: Settings) -> str | None:
    """The configured key, or None when the API is off. Raises ApiKeyError for a file that is missing or
    empty, a key too short to resist guessing, or both the file and the variable set."""
    env_key = settings.api_key.get_secret_value().strip() if settings.api_key else ""
    path = settings.api_key_file
    if path is None:
        key, where = env_key, "STUDYBOT_API_KEY"
    elif env_key:
        raise ApiKeyError("both STUDYBOT_API_KEY and STUDYBOT_API_KEY_FILE are set: keep only the file")
    else:
        try:
            key, where = Path(path).read_text(encoding="utf-8").strip(), f"the API key file {path}"
        except (OSError, UnicodeDecodeError) as e:
            raise ApiKeyError(f"cannot read the API key file {path}: {e}") from e
        if not key:
            raise ApiKeyError(f"the API key file {path} is empty")
    if not key:
        return None
    if len(key) < MIN_KEY_CHARS or any(ch.isspace() for ch in key):
        raise ApiKeyError(f"{where}: use one word of at least {MIN_KEY_CHARS} characters "
                          "(e.g. the output of `openssl rand -hex 32`)")
    return key


# --- the wire format ---------------------------------------------------------------------------

def error_body(message: str, kind: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
    """OpenAI's error shape: the official client reads ``error.message``."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _error(status: int, message: str, kind: str = "invalid_request_error", param: str | None = None,
           code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, kind, param, code), status_code=status,
                        headers={"cache-control": "no-store", **(headers or {})})


class Refused(Exception):
    """A request answered with an OpenAI error (``response``) instead of a completion."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def response(self):
        return _error(self.status, self.message, param=self.param, code=self.code)


def _text(content: Any, i: int) -> str:
    """A message's text: a string, or a list of ``{"type": "text", "text": ...}`` parts."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        out = []
        for part in content:
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise Refused(400, f"messages[{i}].content: each part must be an object with a \"type\"",
                              f"messages[{i}].content")
            if part["type"] != "text":
                raise Refused(400, f"messages[{i}].content: studybot reads text only, not {part['type'][:40]!r}",
                              f"messages[{i}].content")
            if not isinstance(part.get("text"), str):
                raise Refused(400, f"messages[{i}].content: a text part needs a string \"text\"", f"messages[{i}].content")
            out.append(part["text"])
        return "".join(out)
    raise Refused(400, f"messages[{i}].content must be a string or a list of text parts", f"messages[{i}].content")


def parse_request(raw: bytes) -> tuple[str, list[dict], bool]:
    """(question, history as ``[{"role", "content"}]``, stream) from a chat-completions body, or Refused.
    System, developer and tool messages are not read: studybot keeps its own instructions (answer only
    from the library), and a client's system prompt must not loosen them."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise Refused(400, "the body must be JSON (a chat completions request)") from None
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise Refused(400, "you must provide a model parameter (\"studybot\")", "model")
    if model != MODEL_ID:
        raise Refused(404, f"the model {model[:100]!r} does not exist; use {MODEL_ID!r}", "model", "model_not_found")
    stream = body.get("stream")
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise Refused(400, "stream must be true or false", "stream")
    if body.get("n") not in (None, 1):
        raise Refused(400, "studybot gives one answer per request: n must be 1", "n")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Refused(400, "messages must be a non-empty list of {\"role\", \"content\"}", "messages")
    if len(messages) > MAX_MESSAGES:
        raise Refused(400, f"{len(messages)} messages is too many: send at most {MAX_MESSAGES} "
                           "(only the last few turns are read)", "messages")
    turns = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise Refused(400, f"messages[{i}] must be an object with a role ({', '.join(ROLES)})", f"messages[{i}]")
        text = _text(m.get("content"), i)
        if m["role"] == "assistant":
            text = text.split(SOURCES_MARK, 1)[0].rstrip()
        if m["role"] in ("user", "assistant"):
            turns.append({"role": m["role"], "content": text})
    last = messages[-1]
    if last["role"] != "user" or not turns or not turns[-1]["content"].strip():
        raise Refused(400, "the last message must be the user's question (role \"user\", some text)", "messages")
    return turns[-1]["content"].strip(), turns[:-1], stream


def sources_text(ans: Answer, cites: list[dict], lang: str) -> str:
    """The numbered source list under a reply's text, for clients that show only the text."""
    if not cites:
        return ""
    title = (CLOSEST_TITLE if ans.status == "declined" else SOURCES_TITLE)[lang].format(n=len(cites))
    lines = [f"\n\n{SOURCES_MARK}\n**{title}**\n"]
    for i, c in enumerate(cites, 1):
        quote = " ".join((c.get("quote") or "").split())
        lines.append(f"{i}. **{cite_label(c['title'] or Path(c['path']).name, c['section'], c['page'])}** "
                     f"(`{c['path']}`)" + (f"\n   > {quote}" if quote else ""))
    return "\n".join(lines)


def extras(data: dict) -> dict:
    """The answer's structured parts beside the text: citations, evidence excerpts and how it was made."""
    return {"citations": data["citations"], "evidence": data["evidence"],
            "studybot": {k: data[k] for k in ("status", "provider", "model", "timings")}}


def completion(ans: Answer, data: dict, question: str, cid: str, created: int) -> dict:
    text = ans.text + sources_text(ans, data["citations"], answer_lang(question))
    return {"id": cid, "object": "chat.completion", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop",
                         "logprobs": None}],
            **extras(data)}


def chunk(cid: str, created: int, delta: dict, finish: str | None = None, **more) -> bytes:
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **more}
    return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"


def tail(streamed: str, ans: Answer) -> str:
    """What the stream still owes once the answer is final. Usually the rest of its text (often
    nothing); when the check replaced the model's streamed reply by the library's evidence
    (ungrounded, restated), that replacement after a rule, as the CLI prints it: a stream cannot take
    back what it sent."""
    if ans.text.startswith(streamed):
        return ans.text[len(streamed):]
    return "\n\n---\n\n" + ans.text


# --- serving -----------------------------------------------------------------------------------

class Slots:
    """At most ``running`` answers at once, ``waiting`` more in line; past that ``enter`` says no at once.
    Used on the server's event loop only (no lock needed)."""

    def __init__(self, running: int, waiting: int) -> None:
        self.running, self.waiting = running, waiting
        self.pending = 0  # running + waiting
        self._sem = None

    def reserve(self) -> bool:
        if self.pending >= self.running + self.waiting:
            return False
        self.pending += 1
        return True

    async def acquire(self) -> None:
        """After ``reserve``: waits for a free slot (if cancelled, the reservation is given back)."""
        import asyncio

        if self._sem is None:  # made on the loop that uses it
            self._sem = asyncio.Semaphore(self.running)
        try:
            await self._sem.acquire()
        except BaseException:
            self.pending -= 1
            raise

    def release(self) -> None:
        self._sem.release()
        self.pending -= 1


class KeyCheck:
    """``Authorization: Bearer <key>``, compared in constant time; wrong keys back off per client
    address as failed admin logins do (ui/limits.py)."""

    def __init__(self, key: str, backoff: Backoff | None = None) -> None:
        self._key = key.encode()
        self.backoff = backoff or Backoff(free=3, base=1.0, cap=300.0, forget=3600.0)

    def refusal(self, request):
        """None when the request carries the key, else the 401/429 response."""
        auth = request.headers.get("authorization", "")
        scheme, _, given = auth.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return _error(401, "missing API key: send the header \"Authorization: Bearer <STUDYBOT_API_KEY>\"",
                          code="invalid_api_key", headers={"www-authenticate": "Bearer"})
        ip = request.client.host if request.client else None
        key = client_key(ip)
        wait = self.backoff.wait(key)
        if wait > 0:  # even the right key waits: otherwise its answer would tell a guesser it was right
            return _error(429, "too many wrong API keys from this address; try again later", "rate_limit_exceeded",
                          code="rate_limit_exceeded", headers={"retry-after": str(max(1, math.ceil(wait)))})
        if not hmac.compare_digest(given.strip().encode(), self._key):
            n = self.backoff.fail(key)
            log.warning("openai api: wrong API key from %s (%d in a row)", ip, n)
            return _error(401, "incorrect API key", code="invalid_api_key", headers={"www-authenticate": "Bearer"})
        self.backoff.ok(key)
        return None


def add_openai_api(server, bot: StudyBot, settings: Settings, *, running: int, waiting: int) -> None:
    """Registers /v1 on ``server`` (a FastAPI app; call it before mounting "/", which would take every
    path). ``server.state.openai_slots`` is the concurrency limit (None when the API is off)."""
    key = api_key(settings)
    server.state.openai_slots = None
    if key is None:
        log.warning("OpenAI-compatible API is off: set STUDYBOT_API_KEY_FILE to serve it at /v1")

        @server.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                          include_in_schema=False)
        async def api_off(rest: str):
            return _error(404, "the OpenAI-compatible API is off on this server (set STUDYBOT_API_KEY_FILE)",
                          code="api_off")
        return

    if settings.api_key_file is None:
        log.warning("the API key comes from STUDYBOT_API_KEY, readable in this process's environment; "
                    "prefer a file and STUDYBOT_API_KEY_FILE=FILE")
    check = KeyCheck(key)
    slots = server.state.openai_slots = Slots(running, waiting)
    created = int(time.time())
    model_card = {"id": MODEL_ID, "object": "model", "created": created, "owned_by": "studybot"}

    @server.get("/v1/models", include_in_schema=False)
    async def models(request: Request):
        return check.refusal(request) or {"object": "list", "data": [model_card]}

    @server.get("/v1/models/{model}", include_in_schema=False)
    async def model(request: Request, model: str):
        return check.refusal(request) or (model_card if model == MODEL_ID else _error(
            404, f"the model {model[:100]!r} does not exist; use {MODEL_ID!r}", param="model", code="model_not_found"))

    @server.post("/v1/chat/completions", include_in_schema=False)
    async def chat_completions(request: Request):
        refused = check.refusal(request)
        if refused is not None:
            return refused
        try:
            question, history, stream = parse_request(await request.body())
            turns = api_turns(bot, history)
        except Refused as e:
            return e.response()
        except BadRequest as e:
            return _error(400, str(e), param="messages")
        if not slots.reserve():
            log.warning("openai api: %d answers running or waiting; refused one", slots.pending)
            return _error(429, f"studybot is busy: {slots.running} answers are being written and {slots.waiting} "
                               "are waiting; try again in a minute", "rate_limit_exceeded",
                          code="rate_limit_exceeded", headers={"retry-after": "30"})
        await slots.acquire()
        cid, now = "chatcmpl-" + secrets.token_hex(12), int(time.time())
        if stream:
            return _Stream(_sse(bot, question, turns, cid, now), slots.release)
        try:
            ans = await anyio.to_thread.run_sync(bot.ask, question, turns)
            return completion(ans, learner_json(bot, ans), question, cid, now)
        except Exception as e:  # noqa: BLE001 - the caller gets OpenAI's error shape; the log has the rest
            logging.getLogger("studybot").exception("openai api: answering failed")
            return _error(500, f"answering failed ({type(e).__name__})", "server_error")
        finally:
            slots.release()

    @server.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def unknown(rest: str):
        return _error(404, f"unknown endpoint /v1/{rest[:100]}: studybot serves /v1/models and /v1/chat/completions",
                      code="unknown_url")


async def _sse(bot: StudyBot, question: str, turns: list[dict], cid: str, created: int) -> AsyncIterator[bytes]:
    """The answer as OpenAI chat-completion chunks: the model's tokens as they come, then the rest of the
    final text and the source list, then a last chunk with finish_reason and the extras, then [DONE]."""
    events = bot.ask_stream(question, turns)
    streamed = ""
    try:
        yield chunk(cid, created, {"role": "assistant", "content": ""})
        while True:
            ev = await anyio.to_thread.run_sync(next, events, None)
            if ev is None:
                break
            if ev.kind == "token" and ev.text:
                streamed += ev.text
                yield chunk(cid, created, {"content": ev.text})
            elif ev.kind == "done" and ev.answer is not None:
                data = learner_json(bot, ev.answer)
                rest = tail(streamed, ev.answer) + sources_text(ev.answer, data["citations"], answer_lang(question))
                if rest:
                    yield chunk(cid, created, {"content": rest})
                yield chunk(cid, created, {}, "stop", **extras(data))
        yield b"data: [DONE]\n\n"
    except Exception as e:  # noqa: BLE001 - headers are sent: the error travels as a chunk, as OpenAI's do
        logging.getLogger("studybot").exception("openai api: answering failed")
        yield b"data: " + json.dumps(error_body(f"answering failed ({type(e).__name__})", "server_error")).encode() + b"\n\n"
    finally:
        # Closing the answer's generator stops the model and frees its lock (it is suspended mid-answer
        # when the client hangs up). Shielded: this runs while the request is being cancelled.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(events.close)


class _Stream(StreamingResponse):
    """Server-sent events that give the concurrency slot back however the response ends (finished, the
    client gone, the server stopping)."""

    def __init__(self, body: AsyncIterator[bytes], release) -> None:
        super().__init__(body, media_type="text/event-stream",
                         headers={"cache-control": "no-cache", "x-accel-buffering": "no"})
        self._release = release

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()
            self._release()
