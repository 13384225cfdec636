"""What the admin console shows, without any Gradio: tables of sources, ingest runs and feedback from the
manifest, and paths as the console and learners see them. The console's re-index job is
``ingest.reindex`` (running an ingest is the ingest package's business, and bot never imports it)."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from bot.core.settings import Settings
from bot.index.store import Index

SOURCE_COLUMNS = ["kind", "title", "status", "chunks", "last indexed", "error", "file"]
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
             short_path(r["path"], settings.library_dir)] for r in rows]


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
