"""docker/compose.yaml and docker/Dockerfile: validated without a Docker engine."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker" / "compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"


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


def test_compose_config_validates():
    cmd = compose_command()
    if cmd is None:
        pytest.skip("no compose binary: install Debian's docker-compose (listed in .ci/apt-packages.txt)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDYBOT_", "COMPOSE_"))}
    proc = subprocess.run([*cmd, "-f", str(COMPOSE), "config"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load(proc.stdout)
    assert set(resolved["services"]) == {"app", "ollama", "chroma"}
    app = resolved["services"]["app"]
    assert app["environment"]["STUDYBOT_OLLAMA_MODEL"] == "qwen2.5:7b"  # the default applies
    assert Path(app["build"]["context"]).resolve() == ROOT


def test_three_services_and_their_wiring(compose):
    services = compose["services"]
    assert set(services) == {"app", "ollama", "chroma"}
    app = services["app"]
    env = app["environment"]
    assert env["STUDYBOT_LLM"] == "ollama"
    assert env["STUDYBOT_OLLAMA_HOST"] == "http://ollama:11434"
    assert env["OLLAMA_HOST"] == "http://ollama:11434"
    assert env["STUDYBOT_CHROMA_URL"] == "http://chroma:8000"
    assert set(app["depends_on"]) == {"ollama", "chroma"}
    assert any(str(p).endswith(":7860") for p in app["ports"])
    mounts = {v.split(":")[1] for v in app["volumes"]}
    assert {"/app/data", "/app/knowledge"} <= mounts
    assert app["build"]["dockerfile"] == "docker/Dockerfile"
    assert (COMPOSE.parent / app["build"]["context"]).resolve() == ROOT

    assert services["ollama"]["image"].startswith("ollama/ollama")
    assert any(v.endswith(":/root/.ollama") for v in services["ollama"]["volumes"])
    assert services["chroma"]["image"].startswith("chromadb/chroma")
    assert any(v.endswith(":/data") for v in services["chroma"]["volumes"])
    named = {v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if not v.startswith(".")}
    assert named <= set(compose["volumes"])


def test_chroma_image_matches_the_pinned_client(compose):
    pinned = re.search(r'"chromadb==([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert pinned, "chromadb is no longer pinned in pyproject.toml"
    assert compose["services"]["chroma"]["image"] == f"chromadb/chroma:{pinned.group(1)}"


def test_dockerfile_builds_the_app_with_the_local_extra():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert '".[local]"' in text and '"studybot[local]"' in text
    cmd = re.search(r"^CMD (.+)$", text, re.M)
    assert cmd and cmd.group(1).replace(" ", "") == '["studybot","serve","--host","0.0.0.0"]'
    # Every COPY source from the build context must exist in the repository.
    for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M):
        parts = [p for p in line.split() if not p.startswith("--")]
        for src in parts[:-1]:
            if "*" in src:
                continue
            assert (ROOT / src).exists(), f"Dockerfile copies {src}, which is not in the repository"
