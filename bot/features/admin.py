"""What the admin console does, without any Gradio: tables from the manifest, and a single-flight
re-index that runs in a background thread while learners keep chatting.

    job = reindex_job(settings)
    started = job.start()        # False: one is already running (nothing new is started)
    job.snapshot()               # {"running", "stage", "done", "total", "report", "error", ...}
    job.wait(timeout)            # for scripts and tests
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.core.settings import Settings

log = logging.getLogger("studybot.admin")

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


def source_rows(settings: Settings) -> list[list]:
    from bot.index.store import get_index

    rows = get_index(settings).manifest.sources()
    return [[r["kind"] or "", r["title"] or "", r["status"], r["chunks"] or 0, when(r["updated_at"]), r["error"] or "",
             short_path(r["path"], settings.library_dir)] for r in rows]


def report_rows(settings: Settings, limit: int = 20) -> list[list]:
    from bot.index.store import get_index

    out = []
    for r in get_index(settings).manifest.reports(limit):
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


@dataclass
class JobState:
    running: bool = False
    stage: str = ""
    done: int = 0
    total: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    report: dict | None = None
    error: str | None = None
    runs: int = 0  # how many runs this process started: lets a caller tell "finished" from "finished before"


@dataclass
class ReindexJob:
    settings: Settings
    state: JobState = field(default_factory=JobState)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _finished: threading.Event = field(default_factory=threading.Event)

    def start(self, paths: list[Path] | None = None) -> bool:
        """Start a re-index in a background thread; False when one is already running."""
        with self._lock:
            if self.state.running:
                return False
            self.state = JobState(running=True, stage="starting", started_at=time.time(), runs=self.state.runs + 1)
            self._finished.clear()
        threading.Thread(target=self._run, args=(paths,), daemon=True, name="admin-reindex").start()
        return True

    def _progress(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            self.state.stage, self.state.done, self.state.total = stage, done, total

    def _run(self, paths: list[Path] | None) -> None:
        from ingest.pipeline import ingest

        report, error = None, None
        try:
            report = ingest(paths, self.settings, rebuild=False, embed=True, progress=self._progress).to_json()
        except Exception as e:  # noqa: BLE001 - the console shows the reason; the process keeps serving
            log.exception("re-index failed")
            error = f"{type(e).__name__}: {e}"
        with self._lock:
            self.state.running = False
            self.state.stage = "failed" if error else "done"
            self.state.finished_at = time.time()
            self.state.report, self.state.error = report, error
        self._finished.set()

    def snapshot(self) -> dict:
        with self._lock:
            return asdict(self.state)

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout) if self.state.running else True


_jobs: dict[str, ReindexJob] = {}
_jobs_lock = threading.Lock()


def reindex_job(settings: Settings) -> ReindexJob:
    """One job per index location per process: a second console tab sees (and joins) the same run."""
    key = str(Path(settings.index_dir).resolve())
    with _jobs_lock:
        if key not in _jobs:
            _jobs[key] = ReindexJob(settings)
        return _jobs[key]
