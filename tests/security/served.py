"""A real studybot server for attack tests: uvicorn on loopback, the same ``build_server`` the CLI uses,
one seed document indexed with the real embedder, the admin console enabled by a password *file*
(a scrypt hash), and canary files outside everything the server may serve."""
from __future__ import annotations

import secrets
import shutil
import types
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
from conftest import SEEDS, make_settings
from stubs import free_port

PASSWORD = "correct horse 电池 staple"


def proc_environ_marker() -> str:
    """The first variable of this process's initial environment, as /proc/self/environ shows it."""
    try:
        return Path("/proc/self/environ").read_bytes().split(b"\0")[0].decode("utf-8", "replace")
    except OSError:
        return ""


@contextmanager
def serve(base: Path, *, app=None, **overrides) -> Iterator[types.SimpleNamespace]:
    """``app``: wraps the built ASGI app (e.g. to take the gate away and test Gradio's own checks)."""
    from bot.service import StudyBot
    from ingest.pipeline import ingest
    from ui.app import build_server, start_server
    from ui.auth import hash_password

    lib = base / "library"
    (lib / "seeds").mkdir(parents=True)
    shutil.copy(SEEDS / "001_241450faf596187f.txt", lib / "seeds")
    secret_file = base / "admin.secret"
    secret_file.write_text(hash_password(PASSWORD) + "\n")
    canary = base / "outside" / "canary.txt"
    canary.parent.mkdir()
    marker = f"studybot-canary-{secrets.token_hex(8)}"
    canary.write_text(marker + "\n")
    port = free_port()
    settings = make_settings(lib, base / "index", admin_password_file=secret_file, port=port, **overrides)
    assert not ingest(None, settings).failed
    bot = StudyBot(settings)
    asgi = build_server(settings, bot)
    server = start_server(app(asgi) if app else asgi, "127.0.0.1", port)
    try:
        yield types.SimpleNamespace(
            url=f"http://127.0.0.1:{port}", settings=settings, bot=bot, lib=lib.resolve(), canary=canary,
            marker=marker, secret_file=secret_file, manifest=(base / "index" / "manifest.sqlite").resolve())
    finally:
        server.should_exit = True
        server.thread.join(10)


@contextmanager
def admin_session(site, user: str = "admin", password: str = PASSWORD) -> Iterator[httpx.Client]:
    """An HTTP client holding the admin's session cookie, as a logged-in browser does."""
    with httpx.Client(base_url=site.url, timeout=60) as c:
        r = c.post("/admin/login", data={"username": user, "password": password})
        assert r.status_code == 200, (r.status_code, r.text)
        yield c


def secrets_in(site, text: str) -> list[str]:
    """Which of the server's secrets a response text holds."""
    found = []
    for name, needle in [("canary", site.marker), ("/etc/passwd", "root:x:0:0"), ("manifest", "SQLite format 3"),
                         ("environ", proc_environ_marker()), ("secret file", "scrypt$")]:
        if needle and needle in text:
            found.append(name)
    return found
