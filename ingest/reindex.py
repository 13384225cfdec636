"""The admin console's re-index: a single-flight ingest that runs in a background thread while learners
keep chatting.

    job = reindex_job(components)   # bot/components.py: one job per index per process
    started = job.start()        # False: one is already running (nothing new is started)
    job.snapshot()               # {"running", "stage", "done", "total", "report", "error", ...}
    job.wait(timeout)            # for scripts and tests
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.components import Components
from bot.core.settings import Settings
from bot.index.store import Index

log = logging.getLogger("studybot.admin")


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
    index: Index | None = None  # the served index (its chat sees the result at once); None: opens its own
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
        from bot.index.background_embed import lower_priority
        from ingest.pipeline import ingest

        lower_priority()  # parsing and BM25 too: the learners' chats come first

        report, error = None, None
        try:
            report = ingest(paths, self.settings, rebuild=False, embed=True, progress=self._progress,
                            index=self.index).to_json()
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


def reindex_job(components: Components, settings: Settings | None = None) -> ReindexJob:
    """The re-index job of ``components``' index (``settings``: another location): one per index, so a
    second console tab sees (and joins) the same run."""
    settings = settings or components.settings
    index = components.index(settings)
    return components.shared(("reindex", index.dir.resolve()), lambda: ReindexJob(settings, index))
