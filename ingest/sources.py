"""The library registry, knowledge/sources.yaml: curated titles, kinds and tags for sources.

Loaders guess a title from the file; an admin's registry entry wins over the guess.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import yaml

KINDS = ("paper", "doc", "newsletter")


# Guards read-modify-write of sources.yaml. It is a module-level lock on purpose: the file is one per
# library and shared by every thread of the process, whichever Components or app touches it (a lock
# held by one object would let a second app over the same library interleave its rewrite).
_write_lock = threading.Lock()


class RegistryError(ValueError):
    pass


@dataclass
class Source:
    id: str
    title: str | None = None
    kind: str | None = None
    path: str | None = None  # absolute once loaded
    url: str | None = None
    language: str | None = None
    tags: list[str] = field(default_factory=list)


def registry_path(library_dir: Path) -> Path:
    return Path(library_dir) / "sources.yaml"


def load_registry(library_dir: Path) -> list[Source]:
    p = registry_path(library_dir)
    if not p.exists():
        return []
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise RegistryError(f"{p}: not valid YAML ({e})") from e
    items = data.get("sources", []) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise RegistryError(f"{p}: expected a 'sources:' list")
    out, seen = [], set()
    for i, it in enumerate(items):
        if not isinstance(it, dict) or not it.get("id"):
            raise RegistryError(f"{p}: entry {i + 1} needs an 'id'")
        sid = str(it["id"])
        if sid in seen:
            raise RegistryError(f"{p}: duplicate id {sid!r}")
        seen.add(sid)
        kind = it.get("kind")
        if kind is not None and kind not in KINDS:
            raise RegistryError(f"{p}: {sid}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
        path = it.get("path")
        if path:  # a fetched feed has both: the url it came from and the file it was saved to
            path = str((Path(library_dir) / path).resolve())
        if not path and not it.get("url"):
            raise RegistryError(f"{p}: {sid}: needs a 'path' or a 'url'")
        tags = it.get("tags") or []
        out.append(Source(sid, it.get("title"), kind, path, it.get("url"), it.get("language"),
                          [str(t) for t in tags] if isinstance(tags, list) else [str(tags)]))
    return out


def by_path(sources: list[Source]) -> dict[str, Source]:
    return {s.path: s for s in sources if s.path}


def upsert_source(library_dir: Path, entry: dict, *, key: str = "url") -> str:
    """Add ``entry`` to the registry, or update the entry with the same ``key`` value; returns its id.

    The file's leading comment block is kept; the rest is rewritten as plain YAML.
    """
    with _write_lock:
        return _upsert(library_dir, entry, key)


def _upsert(library_dir: Path, entry: dict, key: str) -> str:
    p = registry_path(library_dir)
    text = p.read_text(encoding="utf-8") if p.exists() else ""
    load_registry(library_dir)  # refuse to rewrite a registry that is already broken
    data = (yaml.safe_load(text) if text.strip() else None) or {}
    items = data.setdefault("sources", [])
    clean = {k: v for k, v in entry.items() if v not in (None, "", [])}
    old = next((it for it in items if key in clean and it.get(key) == clean[key]), None)
    if old is not None:
        clean["id"] = old["id"]
        old.update(clean)
    else:
        taken = {str(it.get("id")) for it in items}
        base, n = clean["id"], 2
        while clean["id"] in taken:
            clean["id"], n = f"{base}-{n}", n + 1
        items.append(clean)
    lines = text.splitlines()
    n_head = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    header = "".join(line + "\n" for line in lines[:n_head])
    tmp = p.with_suffix(".yaml.tmp")
    tmp.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    os.replace(tmp, p)
    load_registry(library_dir)
    return clean["id"]
