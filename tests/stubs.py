"""Stub OpenAI-compatible and Ollama servers on 127.0.0.1 for wire-format tests.

Each server runs in a daemon thread on a free port, records every request, and can be
switched into a failure mode. Use as a context manager or via the fixtures below::

    with OllamaStub(models=["qwen2.5:7b"]) as srv:
        settings = Settings(llm="ollama", ollama_host=srv.url)

Modes (``srv.mode = ...``):
  ok            normal answer
  error500      HTTP 500 with a JSON error body
  unauthorized  HTTP 401
  missing_model HTTP 404 "model not found" (also automatic for a model not in ``models``)
  drop          streams part of the answer, then aborts the chunked body mid-way
  truncate      close-delimited body that ends cleanly but without the end marker
  stall         sends headers and one chunk, then goes silent
  stall_headers goes silent before sending any headers
"""
from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

DEFAULT_REPLY = "Hello from the stub server."


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None


@dataclass
class _Config:
    mode: str = "ok"
    reply: str = DEFAULT_REPLY
    models: list[str] = field(default_factory=list)
    api_key: str | None = None
    stall_seconds: float = 30.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up on aborted or stalled responses is the point of several modes.
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stub: StubServer  # set on the per-server subclass

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    # --- plumbing ---------------------------------------------------------------
    def _read_body(self) -> Any:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _record(self, body: Any) -> None:
        self.stub.requests.append(
            Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )

    def send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self, content_type: str, chunked: bool = True) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self._chunked = chunked

    def write_piece(self, data: bytes) -> None:
        if self._chunked:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.wfile.write(data)
        self.wfile.flush()

    def end_stream(self) -> None:
        if self._chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def abort(self) -> None:
        """Drop the TCP connection without finishing the response."""
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def stall(self) -> None:
        self.stub._stop.wait(self.stub.config.stall_seconds)
        self.abort()

    def _handle(self) -> None:
        body = self._read_body()
        self._record(body)
        self.stub.route(self, body)

    do_GET = do_POST = do_DELETE = _handle


class StubServer:
    """Common lifecycle: a threaded HTTP server on 127.0.0.1 with a random free port."""

    def __init__(self, **config: Any) -> None:
        self.config = _Config(**config)
        self.requests: list[Recorded] = []
        self._stop = threading.Event()
        handler = type(f"{type(self).__name__}Handler", (_Handler,), {"stub": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mode(self) -> str:
        return self.config.mode

    @mode.setter
    def mode(self, value: str) -> None:
        self.config.mode = value

    def start(self) -> StubServer:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # releases stalled handlers
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- helpers for tests ----------------------------------------------------------
    def posts(self, path_suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith(path_suffix)]

    def tokens(self) -> list[str]:
        return re.findall(r"\S+\s*", self.config.reply) or [""]

    def route(self, h: _Handler, body: Any) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class OpenAIStub(StubServer):
    """/v1/chat/completions (SSE and plain JSON) and /v1/models."""

    def __init__(self, **config: Any) -> None:
        config.setdefault("models", ["stub-model"])
        super().__init__(**config)

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def route(self, h: _Handler, body: Any) -> None:
        cfg = self.config
        path = h.path.split("?")[0]
        if cfg.mode == "stall_headers":
            return h.stall()
        if cfg.mode == "unauthorized" or (cfg.api_key and h.headers.get("Authorization") != f"Bearer {cfg.api_key}"):
            return h.send_json(401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                               "code": "invalid_api_key"}})
        if path == "/v1/models" and h.command == "GET":
            return h.send_json(200, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "stub"}
                                                                 for m in cfg.models]})
        if path != "/v1/chat/completions" or h.command != "POST":
            return h.send_json(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})
        if cfg.mode == "error500":
            return h.send_json(500, {"error": {"message": "The server had an error while processing your request.",
                                               "type": "server_error"}})
        model = (body or {}).get("model", "")
        if cfg.mode == "missing_model" or (cfg.models and model not in cfg.models):
            return h.send_json(404, {"error": {"message": f"The model `{model}` does not exist.",
                                               "type": "invalid_request_error", "code": "model_not_found"}})
        if (body or {}).get("stream"):
            return self._stream(h, model, body)
        text = cfg.reply
        h.send_json(200, {
            "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": len(self.tokens()), "total_tokens": 5 + len(self.tokens())},
        })

    def _stream(self, h: _Handler, model: str, body: dict) -> None:
        mode = self.config.mode
        h.start_stream("text/event-stream", chunked=mode != "truncate")

        def event(delta: dict, finish: str | None = None) -> bytes:
            chunk = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": int(time.time()),
                     "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return b"data: " + json.dumps(chunk).encode() + b"\n\n"

        h.write_piece(event({"role": "assistant", "content": ""}))
        toks = self.tokens()
        for i, tok in enumerate(toks):
            if mode in ("drop", "truncate") and i == len(toks) // 2:
                return h.abort()
            if mode == "stall" and i == 1:
                return h.stall()
            h.write_piece(event({"content": tok}))
        h.write_piece(event({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": int(time.time()),
                     "model": model, "choices": [],
                     "usage": {"prompt_tokens": 5, "completion_tokens": len(toks), "total_tokens": 5 + len(toks)}}
            h.write_piece(b"data: " + json.dumps(usage).encode() + b"\n\n")
        h.write_piece(b"data: [DONE]\n\n")
        h.end_stream()


class OllamaStub(StubServer):
    """/api/chat (NDJSON streaming or one JSON), /api/tags, /api/version."""

    def __init__(self, **config: Any) -> None:
        config.setdefault("models", ["qwen2.5:7b"])
        super().__init__(**config)

    def route(self, h: _Handler, body: Any) -> None:
        cfg = self.config
        path = h.path.split("?")[0]
        if cfg.mode == "stall_headers":
            return h.stall()
        if cfg.mode == "unauthorized":
            return h.send_json(401, {"error": "unauthorized"})
        if path == "/api/version":
            return h.send_json(200, {"version": "0.6.0-stub"})
        if path == "/api/tags":
            return h.send_json(200, {"models": [
                {"name": m, "model": m, "modified_at": "2025-01-01T00:00:00Z", "size": 1, "digest": "0" * 64,
                 "details": {"format": "gguf", "family": "qwen2"}} for m in cfg.models]})
        if path != "/api/chat" or h.command != "POST":
            return h.send_json(404, {"error": f"no route {path}"})
        if cfg.mode == "error500":
            return h.send_json(500, {"error": "llama runner process has terminated: exit status 2"})
        model = (body or {}).get("model", "")
        known = {m if ":" in m else m + ":latest" for m in cfg.models}
        if cfg.mode == "missing_model" or (model if ":" in model else model + ":latest") not in known:
            return h.send_json(404, {"error": f"model \"{model}\" not found, try pulling it first"})
        toks = self.tokens()

        def line(content: str, done: bool) -> bytes:
            msg: dict[str, Any] = {"model": model, "created_at": "2025-01-01T00:00:00.000000Z",
                                   "message": {"role": "assistant", "content": content}, "done": done}
            if done:
                msg.update(done_reason="stop", total_duration=1000, load_duration=10, prompt_eval_count=5,
                           prompt_eval_duration=100, eval_count=len(toks), eval_duration=500)
            return json.dumps(msg).encode() + b"\n"

        if (body or {}).get("stream", True) is False:
            payload = json.loads(line(cfg.reply, True))
            return h.send_json(200, payload)
        h.start_stream("application/x-ndjson", chunked=cfg.mode != "truncate")
        for i, tok in enumerate(toks):
            if cfg.mode in ("drop", "truncate") and i == len(toks) // 2:
                return h.abort()
            if cfg.mode == "stall" and i == 1:
                return h.stall()
            h.write_piece(line(tok, False))
        h.write_piece(line("", True))
        h.end_stream()


def free_port() -> int:
    """A port nothing listens on (for 'connection refused' tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def openai_stub():
    with OpenAIStub() as srv:
        yield srv


@pytest.fixture
def ollama_stub():
    with OllamaStub() as srv:
        yield srv
