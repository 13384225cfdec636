"""Real servers started by tests on loopback: Chroma (`chroma run`) and llama.cpp's OpenAI-compatible
server (`python -m llama_cpp.server`). Each runs as a child process on a free port, is ready once its
health URL answers 200, and is killed on exit (its output goes to a log file the test may read)."""
from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from stubs import free_port


class Served:
    def __init__(self, proc: subprocess.Popen, url: str, log: Path) -> None:
        self.proc, self.url, self.log = proc, url, log

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@contextmanager
def serve(cmd: list[str], health_path: str, log: Path, port: int, ready_s: float = 180.0) -> Iterator[Served]:
    """Start ``cmd`` (which listens on 127.0.0.1:``port``) and wait until ``health_path`` answers 200."""
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    srv = Served(proc, url, log)
    try:
        deadline = time.monotonic() + ready_s
        while True:
            try:
                if httpx.get(url + health_path, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"{Path(cmd[0]).name} {' '.join(cmd[1:3])} exited early ({proc.returncode}):\n"
                            + srv.log_text()[-2000:])
            if time.monotonic() > deadline:
                pytest.fail(f"{cmd[:3]} did not answer {health_path} within {ready_s:g}s:\n" + srv.log_text()[-2000:])
            time.sleep(0.5)
        yield srv
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def chroma_cmd(path: Path, port: int) -> list[str]:
    exe = Path(sys.executable).parent / "chroma"
    if not exe.exists():
        pytest.skip("the chroma CLI is not installed (it comes with chromadb)")
    return [str(exe), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)]


LLAMA_ALIAS = "studybot-test-0.5b"


def gguf_05b() -> Path:
    """The bundled 0.5B GGUF, or a skip saying how to get it."""
    from bot.core.settings import Settings
    from bot.providers.local_model import is_ready, model_file

    model_dir = Settings().model_dir
    if not is_ready("0.5b", model_dir):
        pytest.skip(f"the 0.5B model is not assembled in {model_dir}: run `studybot model --size 0.5b`")
    return model_file("0.5b", model_dir)


def llama_server_cmd(model: Path, port: int, threads: int = 2, ctx: int = 4096) -> list[str]:
    try:
        import llama_cpp.server.app  # noqa: F401 - needs the [server] extra (sse-starlette, starlette-context)
    except ImportError as e:
        pytest.skip(f"llama_cpp.server is not usable ({e}): pip install 'studybot[local]'")
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", LLAMA_ALIAS,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(ctx), "--n_threads", str(threads),
            "--n_threads_batch", str(threads)]


def new_port() -> int:
    return free_port()
