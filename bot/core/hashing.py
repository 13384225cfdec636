"""The sha256 of a file, the one way: ingest keys documents by it, the local model is checked by it."""
from __future__ import annotations

import hashlib
from os import PathLike


def file_sha256(path: str | PathLike[str]) -> str:
    """Hex sha256 of the file's bytes, read in blocks (a local model is over a gigabyte)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
