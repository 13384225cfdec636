"""Find the files to ingest under the given roots, and say why any were left out.

Files come back as resolved paths in a stable order (sorted names, depth first), so a file reached
twice, through an overlapping root or a symlink, is listed once and always under the same key.
"""
from __future__ import annotations

import os
from pathlib import Path

from ingest.loaders import SUPPORTED_SUFFIXES

IGNORED_DIRS = {"__pycache__", "node_modules"}
_MB = 1024 * 1024


def discover(
    roots: list[Path], root: Path, max_file_mb: float, max_depth: int = 24
) -> tuple[list[Path], list[dict]]:
    """Walk ``roots`` (files or folders). Symlinks are followed only when their target stays inside
    one of the roots or the library ``root``. Returns (files, skipped [{"path", "reason"}])."""
    return _Walk(roots, root, max_file_mb, max_depth).run()


def _skip_name(name: str) -> bool:
    return name.startswith(".") or name in IGNORED_DIRS


class _Walk:
    def __init__(self, roots: list[Path], root: Path, max_file_mb: float, max_depth: int):
        self.roots = [Path(r) for r in roots]
        self.allowed = [_real(r) for r in [*self.roots, Path(root)]]
        self.max_mb = max_file_mb
        self.max_depth = max_depth
        self.files: list[Path] = []
        self.skipped: list[dict] = []
        self.seen_files: set[Path] = set()
        self.seen_dirs: set[Path] = set()

    def run(self) -> tuple[list[Path], list[dict]]:
        for r in self.roots:
            if not r.exists():
                self.skip(r, "not found")
            elif r.is_dir():
                self.walk(r.resolve(), 0)
            else:
                self.add_file(r.resolve(), r, explicit=True)
        return self.files, self.skipped

    def skip(self, path: Path | str, reason: str) -> None:
        self.skipped.append({"path": str(path), "reason": reason})

    def inside_library(self, target: Path) -> bool:
        return any(target == a or target.is_relative_to(a) for a in self.allowed)

    def walk(self, folder: Path, depth: int) -> None:
        if folder in self.seen_dirs:  # reached again through a symlink: also what breaks loops
            return
        self.seen_dirs.add(folder)
        if depth > self.max_depth:
            self.skip(folder, f"folder is nested deeper than {self.max_depth} levels")
            return
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as e:
            self.skip(folder, f"cannot read folder: {e.strerror or e}")
            return
        for entry in entries:
            if _skip_name(entry.name):
                continue
            path = Path(entry.path)
            if entry.is_symlink():
                self.follow(path, depth)
            elif entry.is_dir(follow_symlinks=False):
                self.walk(path, depth + 1)
            elif entry.is_file(follow_symlinks=False):
                self.add_file(path, path, explicit=False)

    def follow(self, link: Path, depth: int) -> None:
        try:
            target = link.resolve(strict=True)
        except (OSError, RuntimeError):  # dangling, or a loop of links
            if link.suffix.lower() in SUPPORTED_SUFFIXES:
                self.skip(link, "broken symlink")
            return
        is_dir = target.is_dir()
        if not is_dir and target.suffix.lower() not in SUPPORTED_SUFFIXES:
            return
        if not self.inside_library(target):
            self.skip(link, "symlink points outside the library")
        elif is_dir:
            self.walk(target, depth + 1)
        elif target.is_file():
            self.add_file(target, link, explicit=False)

    def add_file(self, path: Path, shown: Path, explicit: bool) -> None:
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            if explicit:  # the user asked for this very file, so say why nothing happened
                supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
                self.skip(shown, f"unsupported file type {suffix or '(no extension)'}; supported: {supported}")
            return
        if path in self.seen_files:
            return
        self.seen_files.add(path)
        try:
            if not path.is_file():
                self.skip(shown, "not a regular file")
                return
            size = path.stat().st_size
        except OSError as e:
            self.skip(shown, f"cannot read file: {e.strerror or e}")
            return
        if size > self.max_mb * _MB:
            self.skip(path, f"file is {size / _MB:.1f} MB, over the {self.max_mb:g} MB limit (STUDYBOT_MAX_FILE_MB)")
            return
        self.files.append(path)


def _real(p: Path) -> Path:
    try:
        return p.resolve()
    except (OSError, RuntimeError):
        return p.absolute()
