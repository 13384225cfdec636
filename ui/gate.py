"""The one door of ``studybot serve``: every HTTP request passes here before either Gradio app.

Gradio's own checks are not enough to rely on: ``gr.mount_gradio_app`` never marks a Blocks as
launched, and Gradio checks client-sent file paths only for launched apps, so any event (undo,
retry, a textbox even) turned ``{"path": "/etc/passwd"}`` into a downloadable file. ``build_server``
now marks its apps launched, and this gate holds the rules whatever Gradio does:

* a file reference in a request body may only point into Gradio's upload folder (where its upload
  route puts files); any other path or a URL is refused before Gradio sees it;
* ``/gradio_api/file=`` serves only from that folder: no URL fetching, no other path;
* the learner app accepts no uploads; request bodies have a size cap;
* under ``/admin`` only the login page and the login/logout calls are open, everything else needs the
  admin's session cookie; failed logins back off per client address and per user name, and only a
  few are checked at once.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import os
from pathlib import Path
from typing import Any, Awaitable, Callable

from ui.limits import Backoff, client_key

log = logging.getLogger("studybot.security")

API = "/gradio_api"
ADMIN = "/admin"
BODY_LIMIT = 4 * 1024 * 1024  # a long chat's whole history is well under 1 MB
LOGIN_BODY_LIMIT = 16 * 1024
LOGIN_CHECKS_AT_ONCE = 2

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


async def _respond(send: Send, status: int, body: Any, headers: dict[str, str] | None = None,
                   content_type: str = "application/json") -> None:
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    hdrs = [(b"content-type", content_type.encode()), (b"content-length", str(len(data)).encode()),
            (b"cache-control", b"no-store")]
    hdrs += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": data})


async def _deny(send: Send, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
    await _respond(send, status, {"detail": reason}, headers)


class _TooLarge(Exception):
    pass


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    declared = _header(scope, b"content-length")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            break
        body = msg.get("body", b"")
        size += len(body)
        if size > limit:
            raise _TooLarge
        chunks.append(body)
        if not msg.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read for checking, handed on to the app as if unread."""
    sent = False

    async def again() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def _header(scope: Scope, name: bytes) -> str:
    for k, v in scope.get("headers") or []:
        if k.lower() == name:
            return v.decode("latin-1")
    return ""


def _cookies(scope: Scope) -> dict[str, str]:
    from http.cookies import SimpleCookie

    jar = SimpleCookie()
    try:
        jar.load(_header(scope, b"cookie"))
    except Exception:  # noqa: BLE001 - a malformed cookie header is no session
        return {}
    return {k: m.value for k, m in jar.items()}


def file_references(data: Any) -> list[str]:
    """Every ``path`` a JSON body names the way Gradio's file payloads do (a dict with a string "path"),
    at any depth. Iterative: a deeply nested body cannot exhaust the stack."""
    out, stack = [], [data]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if isinstance(x.get("path"), str):
                out.append(x["path"])
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return out


class Gate:
    """ASGI middleware around the FastAPI server that mounts both apps (see module docstring)."""

    def __init__(self, app, *, upload_dir: str, admin: "AdminDoor | None" = None, body_limit: int = BODY_LIMIT):
        self.app = app
        self.upload_dir = os.path.realpath(upload_dir)
        self.admin = admin
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # no route of either app speaks it: nothing to let through
            return await send({"type": "websocket.close", "code": 1008})
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        if path == ADMIN or path.startswith(ADMIN + "/"):
            if self.admin is None:
                return await _deny(send, 404, "Not Found")
            return await self.admin.handle(self, scope, receive, send, path[len(ADMIN):])
        return await self.guard(scope, receive, send, path, uploads=False)

    def in_upload_dir(self, path: str) -> bool:
        if not path or "\x00" in path:
            return False
        real = os.path.realpath(path)
        return real != self.upload_dir and real.startswith(self.upload_dir + os.sep)

    async def guard(self, scope: Scope, receive: Receive, send: Send, sub: str, *, uploads: bool) -> None:
        """The rules for one app's routes; ``sub`` is the path inside the app."""
        method = scope["method"]
        if sub.startswith(API + "/file=") or sub.startswith("/file="):
            if not self.in_upload_dir(sub.split("file=", 1)[1]):
                log.warning("refused file request %r from %s", sub[:200], _client(scope))
                return await _deny(send, 403, "File not allowed.")
        elif sub.startswith(API + "/proxy="):
            return await _deny(send, 403, "Not allowed.")
        is_upload = sub.rstrip("/") == API + "/upload"
        if is_upload and not uploads:
            return await _deny(send, 403, "Uploads are not accepted here.")
        if method in ("POST", "PUT", "PATCH", "DELETE") and not is_upload:
            try:
                body = await _read_body(scope, receive, self.body_limit)
            except _TooLarge:
                return await _deny(send, 413, f"Request body over {self.body_limit // (1024 * 1024)} MB.")
            bad = self.foreign_file(body)
            if bad is not None:
                log.warning("refused a file reference to %r from %s (%s %s)", bad[:200], _client(scope), method, sub[:100])
                return await _deny(send, 403, "File references outside the upload folder are not accepted.")
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    def foreign_file(self, body: bytes) -> str | None:
        """The first file path in ``body`` that is not an uploaded file, or None."""
        # Always parsed: a key can be spelled "\u0070ath", so no byte search can rule it out.
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return None  # not JSON: Gradio refuses it as a bad request
        return next((p for p in file_references(data) if not self.in_upload_dir(p)), None)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "?"


class LoginLimiter:
    """Failed admin logins back off per client address and per user name (a guesser spread over many
    addresses still meets the user's back-off)."""

    def __init__(self, backoff: Backoff | None = None) -> None:
        self.backoff = backoff or Backoff(free=3, base=1.0, cap=300.0, forget=3600.0)

    @staticmethod
    def keys(ip: str | None, user: str) -> tuple[str, str]:
        return client_key(ip), "user:" + user.casefold()[:64]

    def wait(self, ip: str | None, user: str) -> float:
        return max(self.backoff.wait(k) for k in self.keys(ip, user))

    def failed(self, ip: str | None, user: str) -> int:
        return max(self.backoff.fail(k) for k in self.keys(ip, user))

    def succeeded(self, ip: str | None, user: str) -> None:
        for k in self.keys(ip, user):
            self.backoff.ok(k)


LOGIN_PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>studybot admin</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;background:#f6f7f9;display:flex;min-height:100vh;
margin:0;align-items:center;justify-content:center}
form{background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 12px #0002;width:min(22rem,90vw)}
h1{font-size:1.2rem;margin:0 0 1rem}label{display:block;margin:.6rem 0 .2rem;font-size:.9rem}
input{width:100%;box-sizing:border-box;padding:.55rem;border:1px solid #ccd;border-radius:6px;font-size:1rem}
button{margin-top:1rem;width:100%;padding:.6rem;border:0;border-radius:6px;background:#f97316;color:#fff;font-size:1rem}
#msg{color:#b91c1c;min-height:1.2rem;margin-top:.6rem;font-size:.9rem}
</style></head><body>
<form id="login"><h1>🛠 studybot 管理控制台 / admin console</h1>
<label for="username">用户名 / username</label><input id="username" name="username" autocomplete="username" required>
<label for="password">密码 / password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">登录 / Login</button><div id="msg" role="alert"></div></form>
<script>
document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const msg = document.getElementById("msg");
  msg.textContent = "";
  const r = await fetch("login", {method: "POST", body: new URLSearchParams(new FormData(e.target))});
  if (r.ok) { location.reload(); return; }
  document.getElementById("password").value = "";
  msg.textContent = r.status === 429
    ? "尝试过多，请 " + (r.headers.get("Retry-After") || "稍") + " 秒后再试 / too many attempts, wait " + (r.headers.get("Retry-After") || "a few") + " s"
    : "用户名或密码错误 / Incorrect username or password";
});
</script></body></html>
"""


class AdminDoor:
    """The /admin prefix: a login page for strangers, the console for the admin's session only.

    ``tokens``/``cookie_id`` are the mounted admin Gradio app's session store and cookie suffix: its own
    login route issues them, this door only reads them."""

    def __init__(self, gradio_app, limiter: LoginLimiter | None = None, *, checks_at_once: int = LOGIN_CHECKS_AT_ONCE):
        self.gradio_app = gradio_app
        self.limiter = limiter or LoginLimiter()
        self.checks_at_once = checks_at_once
        self._checking = 0  # touched only on the event loop

    def user(self, scope: Scope) -> str | None:
        cookies = _cookies(scope)
        cid = self.gradio_app.cookie_id
        token = cookies.get(f"access-token-{cid}") or cookies.get(f"access-token-unsecure-{cid}")
        return self.gradio_app.tokens.get(token) if token else None

    async def handle(self, gate: Gate, scope: Scope, receive: Receive, send: Send, sub: str) -> None:
        method = scope["method"]
        if sub == "":
            root = scope.get("root_path", "")
            return await _respond(send, 307, "", {"location": f"{root}{ADMIN}/"}, "text/plain")
        if sub.rstrip("/") == "/login" and method == "POST":
            return await self.login(gate, scope, receive, send)
        if sub.rstrip("/") == "/logout":
            return await gate.app(scope, receive, send)
        if self.user(scope) is None:
            if sub == "/" and method in ("GET", "HEAD"):
                return await _respond(send, 200, LOGIN_PAGE, content_type="text/html; charset=utf-8")
            return await _deny(send, 401, {"error": "Not authenticated", "auth_message": "studybot admin console"})
        return await gate.guard(scope, receive, send, sub, uploads=True)

    async def login(self, gate: Gate, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await _read_body(scope, receive, LOGIN_BODY_LIMIT)
        except _TooLarge:
            return await _deny(send, 413, "Request body too large.")
        user = await _form_user(scope, body, receive)
        ip = _client(scope)
        wait = self.limiter.wait(ip, user)
        if wait > 0:
            log.warning("admin console: login for user %r from %s refused, backing off %.0f s", user[:40], ip, wait)
            return await _deny(send, 429, "Too many failed logins; try again later.",
                               {"retry-after": str(max(1, math.ceil(wait)))})
        if self._checking >= self.checks_at_once:
            return await _deny(send, 429, "Too many logins at once; try again.", {"retry-after": "1"})
        self._checking += 1
        status = 0

        async def watch(msg: dict) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
            await send(msg)

        try:
            await gate.app(scope, _replay(body, receive), watch)
        finally:
            self._checking -= 1
        if status == 200:
            self.limiter.succeeded(ip, user)
            log.info("admin console: user %r logged in from %s", user[:40], ip)
        elif 400 <= status < 500:
            n = self.limiter.failed(ip, user)
            # Never the attempted password: logs are read by more people than the console.
            log.warning("admin console: failed login for user %r from %s (%d in a row)", user[:40], ip, n)


async def _form_user(scope: Scope, body: bytes, receive: Receive) -> str:
    """The user name of a login form, urlencoded or multipart alike (Gradio's login route takes both:
    reading only one would let the other kind of guess skip the per-user back-off)."""
    from starlette.requests import Request

    try:
        form = await Request(scope, _replay(body, receive)).form(max_files=0, max_fields=20)
    except Exception:  # noqa: BLE001 - malformed: Gradio refuses it; counted under the address alone
        return ""
    return str(form.get("username") or "").strip()


def admin_login_check(secret) -> Callable[[str, str], Awaitable[bool]]:
    """Gradio's ``auth`` callable: the (slow, scrypt) check runs off the event loop."""
    async def check(username: str, password: str) -> bool:
        return await asyncio.to_thread(secret.verify, username, password)

    return check


def upload_folder() -> str:
    from gradio.utils import get_upload_folder

    return str(Path(get_upload_folder()))
