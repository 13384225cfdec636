"""What the admin console shows, without any Gradio: tables of sources, ingest runs and feedback from the
manifest, and paths as the console and learners see them. The console's re-index job is
``ingest.reindex`` (running an ingest is the ingest package's business, and bot never imports it)."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from bot.core.settings import Settings
from bot.index.store import Index

SOURCE_COLUMNS = ["kind", "title", "status", "chunks", "last indexed", "error", "file", "search"]
REPORT_COLUMNS = ["started", "seconds", "files", "indexed", "unchanged", "removed", "failed", "chunks", "why failed"]
FEEDBACK_COLUMNS = ["time", "vote", "question", "comment", "answer", "provider"]


def when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def short_path(path: str, library_dir: Path, *, learner: bool = False) -> str:
    """``path`` relative to the library (indexed paths are resolved, so the library is too). For a file
    outside it, the admin console shows the whole path (the operator has to find the file); learners
    (``learner=True``, every path the learner app sends) get only its name, as a server's directory
    layout is not theirs to see."""
    # normpath: a ".." left in a path must not walk a "relative" path back out of the library.
    p = Path(os.path.normpath(path)) if learner else Path(path)
    try:
        return str(p.relative_to(Path(library_dir).resolve()))
    except ValueError:
        return p.name if learner else path


def source_rows(index: Index, settings: Settings) -> list[list]:
    rows = index.manifest.sources()
    return [[r["kind"] or "", r["title"] or "", r["status"], r["chunks"] or 0, when(r["updated_at"]), r["error"] or "",
             short_path(r["path"], settings.library_dir), "⏸ disabled" if r.get("disabled") else "on"] for r in rows]


def report_rows(index: Index, settings: Settings, limit: int = 20) -> list[list]:
    out = []
    for r in index.manifest.reports(limit):
        failed = r.get("failed") or []
        why = "; ".join(f"{short_path(f['path'], settings.library_dir)}: {f['reason']}" for f in failed[:5])
        if len(failed) > 5:
            why += f"; … {len(failed) - 5} more"
        out.append([when(r.get("started_at")), r.get("seconds"), r.get("files_seen"), r.get("indexed"),
                    r.get("unchanged"), r.get("removed"), len(failed), r.get("chunks_total"), why])
    return out


def feedback_source():
    """``list_feedback`` when the feedback module exists in this build, else None (section hidden)."""
    try:
        from bot.features.feedback import list_feedback
    except ImportError:
        return None
    return list_feedback


def feedback_rows(settings: Settings, limit: int = 100) -> list[list]:
    fn = feedback_source()
    if fn is None:
        return []
    out = []
    for r in fn(settings, limit=limit):
        ts = r.get("ts")
        out.append([when(ts) if isinstance(ts, (int, float)) else str(ts or ""), r.get("vote"), r.get("question") or "",
                    r.get("comment") or "", (r.get("answer") or "")[:300], r.get("provider") or ""])
    return out


# --- one source: find it, disable/enable it, read its passages; the search test ------------------------

PASSAGE_COLUMNS = ["#", "page", "section", "passage", "vector", "id"]
SEARCH_COLUMNS = ["rank", "score", "found by", "cosine", "BM25", "title", "file", "passage", "id"]


class SourceNotFound(ValueError):
    pass


def source_choices(index: Index, settings: Settings) -> list[tuple[str, str]]:
    """(label, value) for a picker: value is the path as the console shows it; disabled ones say so."""
    out = []
    for r in index.manifest.sources():
        shown = short_path(r["path"], settings.library_dir)
        out.append((("⏸ " if r.get("disabled") else "") + f"{shown} — {r['title'] or ''}".rstrip(" —"), shown))
    return out


def find_source(index: Index, settings: Settings, name: str) -> str:
    """The indexed path ``name`` means: an indexed path itself, or the path as the console shows it
    (relative to the library), or a path that resolves to an indexed one. Only a path taken from the
    manifest is ever returned: ``name`` is matched, never joined onto a directory."""
    name = (name or "").strip()
    if not name:
        raise SourceNotFound("choose a source first")
    paths = [r["path"] for r in index.manifest.sources()]
    if name in paths:
        return name
    for p in paths:
        if short_path(p, settings.library_dir) == name:
            return p
    resolved = str(Path(name).expanduser().resolve())
    if resolved in paths:
        return resolved
    raise SourceNotFound(f"not an indexed source: {name[:200]}")


def set_source_enabled(index: Index, settings: Settings, name: str, enabled: bool) -> str:
    """Disable (or enable) a source: it leaves search (or comes back) at once, nothing is re-embedded.
    Returns the indexed path."""
    path = find_source(index, settings, name)
    if not index.manifest.set_disabled(path, not enabled):
        raise SourceNotFound(f"not an indexed source: {name[:200]}")
    return path


def passage_rows(index: Index, settings: Settings, name: str) -> list[list]:
    path = find_source(index, settings, name)
    pending = index.manifest.unembedded_among([c.id for c in index.manifest.file_passages(path)])
    return [[c.ordinal, c.page or "", c.section or "", c.text, "pending" if c.id in pending else "ok", c.id]
            for c in index.manifest.file_passages(path)]


def search_rows(hits, settings: Settings) -> list[list]:
    """The search test's table: each hit's fused score, which retrievers found it, its cosine and BM25."""
    rows = []
    for i, h in enumerate(hits, 1):
        c = h.chunk
        found = " + ".join({"dense": "dense", "bm25": "BM25"}[f] for f in h.found) or "—"
        rows.append([i, round(h.score, 4), found, "" if h.dense is None else round(float(h.dense), 4),
                     "" if h.lexical is None else round(float(h.lexical), 3), c.title,
                     short_path(c.path, settings.library_dir), c.text[:400], c.id])
    return rows
