"""docker/compose.yaml and docker/Dockerfile: validated without a Docker engine.

Rather than repeat what the files say, the tests check what follows from them: the settings the
app ends up with inside the container (Dockerfile ENV, then compose's environment) name real
settings, reach the other services on ports they expose, and keep the index on volumes.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker" / "compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def compose_command() -> list[str] | None:
    """`docker compose` (v2 plugin) if present, else Debian's `docker-compose` (v1)."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _runtime_env() -> dict[str, str]:
    """ENV of the Dockerfile's last stage (the image that runs)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    last_stage = re.split(r"^FROM .*$", text, flags=re.M)[-1]
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.+)$", last_stage, re.M):
        env.update(part.split("=", 1) for part in shlex.split(line))
    return env


def _interpolate(value) -> str | None:
    """What compose makes of ``${VAR:-default}`` when VAR is unset."""
    return None if value is None else re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


@pytest.fixture
def container(compose, monkeypatch):
    """(environment, Settings) of the app as compose runs it."""
    from bot.core.settings import Settings

    env = _runtime_env() | {k: _interpolate(v) for k, v in compose["services"]["app"]["environment"].items()}
    for k in [k for k in os.environ if k.startswith("STUDYBOT_")] + ["OLLAMA_HOST"]:
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        if v is not None:
            monkeypatch.setenv(k, v)
    return env, Settings(_env_file=None)


def test_compose_config_validates():
    cmd = compose_command()
    if cmd is None:
        pytest.skip("no compose binary: install Debian's docker-compose (listed in .ci/apt-packages.txt)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDYBOT_", "COMPOSE_"))}
    proc = subprocess.run([*cmd, "-f", str(COMPOSE), "config"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load(proc.stdout)
    from bot.core.settings import Settings

    app = resolved["services"]["app"]
    # With nothing set on the host, compose's default model is the app's own default.
    assert app["environment"]["STUDYBOT_OLLAMA_MODEL"] == Settings.model_fields["ollama_model"].default
    assert Path(app["build"]["context"]).resolve() == ROOT


def test_every_studybot_variable_is_a_setting_the_app_reads(container):
    """Settings ignores unknown STUDYBOT_ variables, so a misspelt one would silently leave a default."""
    from bot.core.settings import Settings

    env, s = container
    names = [k for k in env if k.startswith("STUDYBOT_")]
    assert names
    for name in names:
        field = name.removeprefix("STUDYBOT_").lower()
        assert field in Settings.model_fields, f"{name} is not a setting"
        if env[name] is not None:
            value = getattr(s, field)
            assert (Path(env[name]) if isinstance(value, Path) else str(env[name])) == (
                value if isinstance(value, Path) else str(value)), name


def test_the_app_reaches_its_llm_and_vector_store_as_services(compose, container):
    env, s = container
    services, app = compose["services"], compose["services"]["app"]
    assert s.llm in services, f"the app is set to use {s.llm!r}, which compose does not run"
    for url in (s.ollama_host, s.chroma_url):
        u = urlsplit(url)
        assert u.hostname in services and u.hostname in app["depends_on"], url
        assert str(u.port) in [str(p) for p in services[u.hostname].get("expose", [])], url
    assert env["OLLAMA_HOST"] == s.ollama_host  # the ollama client library, should anything use it directly


def test_what_the_app_keeps_lives_on_volumes(compose, container):
    _, s = container
    app = compose["services"]["app"]
    mounts = [PurePosixPath(v.split(":")[1]) for v in app["volumes"]]
    for kept in (s.index_dir, s.model_dir, s.library_dir):
        assert any(PurePosixPath(kept).is_relative_to(m) for m in mounts), f"{kept} is lost with the container"
    named = {v.split(":")[0] for svc in compose["services"].values() for v in svc.get("volumes", []) if not v.startswith(".")}
    assert named <= set(compose["volumes"])
    # The server listens on every interface of the container, on the port compose publishes.
    assert s.host == "0.0.0.0" and any(str(p).endswith(f":{s.port}") for p in app["ports"])
    assert (COMPOSE.parent / app["build"]["context"]).resolve() == ROOT
    assert (ROOT / app["build"]["dockerfile"]).is_file()


def test_chroma_image_matches_the_pinned_client(compose):
    pinned = re.search(r'"chromadb==([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert pinned, "chromadb is no longer pinned in pyproject.toml"
    assert compose["services"]["chroma"]["image"] == f"chromadb/chroma:{pinned.group(1)}"


def test_dockerfile_builds_and_serves_the_app():
    from ui.cli import build_parser

    text = DOCKERFILE.read_text()
    # The Python of every stage satisfies the project's requires-python.
    low = tuple(map(int, re.search(r">=\s*(\d+)\.(\d+)", PYPROJECT["project"]["requires-python"]).groups()))
    for major, minor in re.findall(r"^FROM python:(\d+)\.(\d+)", text, re.M):
        assert (int(major), int(minor)) >= low
    # The extras it installs exist.
    for extra in re.findall(r'"(?:\.|studybot)\[([\w,]+)\]"', text):
        assert set(extra.split(",")) <= set(PYPROJECT["project"]["optional-dependencies"]), extra
    # The command is one the CLI accepts, and serves on every interface (reachable from outside).
    cmd = re.search(r"^CMD (.+)$", text, re.M)
    argv = yaml.safe_load(cmd.group(1))  # the exec form is a JSON list
    assert argv[0] in PYPROJECT["project"]["scripts"]
    args = build_parser().parse_args(argv[1:])
    assert args.fn.__name__ == "cmd_serve"
    assert (args.host or _runtime_env().get("STUDYBOT_HOST")) == "0.0.0.0"
    # Every COPY source from the build context must exist in the repository.
    for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M):
        parts = [p for p in line.split() if not p.startswith("--")]
        for src in parts[:-1]:
            if "*" in src:
                continue
            assert (ROOT / src).exists(), f"Dockerfile copies {src}, which is not in the repository"
