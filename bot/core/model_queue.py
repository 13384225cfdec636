"""Turns at the chat model: first come, first served, with each waiter's place and an estimate.

The local model answers one question at a time (two cores; llama.cpp holds one KV cache), so when
several learners ask at once all but one wait. Waiting is fine; waiting blind is not: the answering
pipeline shows each learner the library's evidence at once, then their place in this queue and an
estimate, then the answer. Background work (embedding, re-index) asks ``wait_idle`` between batches,
so it yields the CPU while any answer is being written and catches up after.

    q = ModelQueue(slots=1)
    t = q.join()
    while not q.acquire(t, timeout=1.0):
        show(q.ahead(t), q.estimate(t))      # 2 ahead, ~30 s
    try: generate()
    finally: q.release(t)                    # also for a waiter that gives up: leaves the line
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import deque

# How the estimate follows the observed turn length (a moving average: recent answers weigh more).
SMOOTHING = 0.3
# A waiter that has not asked for its turn for this long is gone (a generator nobody reads any more, a
# closed tab): it loses its place instead of holding up the line behind it.
STALE_S = 10.0


class ModelQueue:
    def __init__(self, slots: int = 1) -> None:
        if slots < 1:
            raise ValueError("a model queue needs at least one slot")
        self.slots = slots
        self._cv = threading.Condition()
        self._waiting: deque[int] = deque()
        self._running: dict[int, float] = {}  # ticket -> when its turn began
        self._ids = itertools.count(1)
        self._seen: dict[int, float] = {}  # waiting ticket -> when it last asked for its turn
        self._asking: set[int] = set()  # tickets inside acquire() right now
        self._turn_s: float | None = None  # smoothed length of one turn, once one finished
        self.served = 0

    # --- a learner's turn ----------------------------------------------------------------------
    def join(self) -> int:
        """A ticket at the end of the line."""
        with self._cv:
            t = next(self._ids)
            self._waiting.append(t)
            self._seen[t] = time.monotonic()
            self._cv.notify_all()
            return t

    def acquire(self, ticket: int, timeout: float | None = None) -> bool:
        """Wait (up to ``timeout``) until ``ticket`` is first in line and a slot is free; True once
        it holds a slot (then ``release`` it)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            self._asking.add(ticket)
            try:
                while True:
                    if ticket in self._running:
                        return True
                    if ticket not in self._waiting:  # dropped as stale: back in line, at the end
                        self._waiting.append(ticket)
                    self._seen[ticket] = time.monotonic()
                    self._drop_stale(ticket)
                    if self._waiting[0] == ticket and len(self._running) < self.slots:
                        self._waiting.popleft()
                        self._seen.pop(ticket, None)
                        self._running[ticket] = time.monotonic()
                        self._cv.notify_all()
                        return True
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    # Wake at least every few seconds to notice a stale waiter ahead.
                    self._cv.wait(STALE_S / 2 if left is None else min(left, STALE_S / 2))
            finally:
                self._asking.discard(ticket)

    def _drop_stale(self, keep: int) -> None:
        now = time.monotonic()
        stale = [t for t in self._waiting
                 if t != keep and t not in self._asking and now - self._seen.get(t, now) > STALE_S]
        for t in stale:
            self._waiting.remove(t)
            self._seen.pop(t, None)

    def release(self, ticket: int) -> None:
        """End a turn, or leave the line without one (a learner who gave up). Idempotent."""
        with self._cv:
            began = self._running.pop(ticket, None)
            if began is not None:
                took = time.monotonic() - began
                self._turn_s = took if self._turn_s is None else (1 - SMOOTHING) * self._turn_s + SMOOTHING * took
                self.served += 1
            else:
                try:
                    self._waiting.remove(ticket)
                except ValueError:
                    pass
            self._seen.pop(ticket, None)
            self._cv.notify_all()

    # --- what a waiter is told -----------------------------------------------------------------
    def ahead(self, ticket: int) -> int:
        """How many turns come before this one: those being written and those earlier in line."""
        with self._cv:
            if ticket in self._running:
                return 0
            try:
                place = self._waiting.index(ticket)
            except ValueError:
                return 0
            return place + len(self._running)

    def estimate(self, ticket: int) -> float | None:
        """Seconds until this ticket's turn begins, from the observed turn length (None before any
        turn has finished: nothing to base it on)."""
        with self._cv:
            if self._turn_s is None or ticket in self._running:
                return None if self._turn_s is None else 0.0
            try:
                place = self._waiting.index(ticket)
            except ValueError:
                return 0.0
            now = time.monotonic()
            # The running turns free their slots after what is left of theirs; then the line moves
            # ``slots`` at a time.
            left = sorted(max(0.0, self._turn_s - (now - b)) for b in self._running.values())
            if len(left) < self.slots:
                first_free = 0.0
            else:
                first_free = left[0]
            rounds = place // self.slots
            return first_free + rounds * self._turn_s

    # --- background work -----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        with self._cv:
            return bool(self._running or self._waiting)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block while any answer is being written or waited for (up to ``timeout``); True when idle."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while self._running or self._waiting:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cv.wait(left)
            return True
