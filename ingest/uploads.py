"""Files an admin uploads go to ``<library>/uploads/`` under a safe, still readable name.

    stored = store_upload(Path("/tmp/gradio/…/学习计划.md"), "学习计划.md", settings)
    stored.path, stored.status  # …/uploads/学习计划.md, "added" | "renamed" | "duplicate"

Only types the loaders read are accepted, the size cap is ``max_file_mb`` (the same limit ingest
applies), names lose folders, control and shell-special characters but keep CJK letters, and an
existing file is never overwritten: the same bytes are reported as a duplicate, different bytes get
a numbered name (``notes-2.md``).
"""
from __future__ import annotations

import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from bot.core.hashing import file_sha256
from bot.core.settings import Settings
from ingest.loaders import SUPPORTED_SUFFIXES

UPLOADS_DIR = "uploads"
MAX_NAME_BYTES = 180  # well under the 255-byte limit of common file systems, leaving room for "-NN"
_RESERVED = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f`$;&!{}\[\]#%\']')
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
_MB = 1024 * 1024


class UploadError(Exception):
    """An upload refused; str(e) is a short reason meant for the admin."""


@dataclass
class Stored:
    name: str  # as uploaded
    path: Path  # where it is now
    status: str  # added | renamed | duplicate
    bytes: int


def supported_types() -> list[str]:
    return sorted(SUPPORTED_SUFFIXES)


def safe_name(name: str) -> str:
    """A file name safe to create in one folder: no path parts, no hidden or option-like names."""
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")  # control, format, unassigned
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = _RESERVED.sub("_", stem)
    stem = re.sub(r"\s+", "_", stem).strip("._- ")
    ext = re.sub(r"[^0-9A-Za-z]", "", ext).lower()
    if not stem or stem.lower() in _WINDOWS_DEVICES:
        stem = f"upload_{stem}" if stem else "upload"
    suffix = f".{ext}" if ext else ""
    while len((stem + suffix).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem.rstrip("._- ") + suffix


def uploads_dir(settings: Settings) -> Path:
    root = Path(settings.library_dir).resolve()
    folder = root / UPLOADS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    if not folder.resolve().is_relative_to(root):  # e.g. uploads/ is a symlink to somewhere else
        raise UploadError(f"{folder} leads outside the library; refusing to write there")
    return folder.resolve()


def check_upload(src: Path, name: str, settings: Settings) -> None:
    suffix = Path(safe_name(name)).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadError(f"unsupported file type {suffix or '(no extension)'}; supported: {', '.join(supported_types())}")
    size = src.stat().st_size
    if size == 0:
        raise UploadError("the file is empty")
    if size > settings.max_file_mb * _MB:
        raise UploadError(f"the file is {size / _MB:.1f} MB, over the {settings.max_file_mb:g} MB limit (STUDYBOT_MAX_FILE_MB)")


def store_upload(src: Path, name: str | None, settings: Settings) -> Stored:
    src = Path(src)
    name = name or src.name
    check_upload(src, name, settings)
    folder = uploads_dir(settings)
    clean = safe_name(name)
    digest = file_sha256(src)
    stem, suffix = Path(clean).stem, Path(clean).suffix
    for n in range(1, 1000):
        target = folder / (clean if n == 1 else f"{stem}-{n}{suffix}")
        if target.exists():
            if target.is_file() and file_sha256(target) == digest:
                return Stored(name, target, "duplicate", target.stat().st_size)
            continue
        if _publish(src, target):
            return Stored(name, target, "added" if n == 1 else "renamed", target.stat().st_size)
    raise UploadError(f"too many files named like {clean} in {folder}")


def _publish(src: Path, target: Path) -> bool:
    """Copy to a hidden temp name (discover skips dot files), then link into place: a concurrent
    ingest never reads half a file, and a file that appeared meanwhile is never replaced."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        shutil.copyfile(src, tmp)
        os.link(tmp, target)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def is_upload(path: Path, settings: Settings) -> bool:
    """Whether ``path`` is a file the console's upload put into the library (``<library>/uploads/``)."""
    uploads = Path(settings.library_dir).resolve() / UPLOADS_DIR
    try:
        return Path(path).resolve().is_relative_to(uploads)
    except OSError:
        return False
