"""Per-caller limits for the web apps: a back-off after failed logins and a sliding-window rate.

Both keep a bounded number of keys (the oldest are forgotten first), so a caller who varies its
address or session cannot grow the server's memory without end.

    backoff = Backoff(free=3, cap=300)
    backoff.wait("ip:203.0.113.9")    # seconds before this key may try again (0: now)
    backoff.fail("ip:203.0.113.9")    # one more failure: 0, 0, 0, then 1, 2, 4 … cap seconds
    backoff.ok("ip:203.0.113.9")      # a success forgets the failures

    rate = Rate(limit=20, window=60)
    rate.allow("session:abc")          # False once 20 calls fell in the last 60 s
"""
from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable


def client_key(host: str | None) -> str:
    """The unit a limit applies to: an IPv4 address, or an IPv6 /64 (one subscriber's whole network:
    per address, a single host could rotate through 2^64 of them)."""
    try:
        ip = ipaddress.ip_address(host or "")
    except ValueError:
        return f"host:{host or '?'}"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return f"ip:{ip.ipv4_mapped}"
        return f"net:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"ip:{ip}"


@dataclass
class _Failures:
    count: int
    last: float


class Backoff:
    """After ``free`` failures, each further attempt must wait ``base * 2**(n - free)`` seconds after
    the last failure (at most ``cap``). Failures are forgotten after ``forget`` quiet seconds."""

    def __init__(self, *, free: int = 3, base: float = 1.0, cap: float = 300.0, forget: float = 3600.0,
                 max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.base, self.cap, self.forget, self.max_keys = free, base, cap, forget, max_keys
        self._clock = clock
        self._keys: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def _delay(self, n: int) -> float:
        if n < self.free:
            return 0.0
        return min(self.cap, self.base * 2 ** min(n - self.free, 32))

    def wait(self, key: str) -> float:
        now = self._clock()
        with self._lock:
            f = self._keys.get(key)
            if f is None:
                return 0.0
            if now - f.last > self.forget:
                del self._keys[key]
                return 0.0
            return max(0.0, f.last + self._delay(f.count) - now)

    def fail(self, key: str) -> int:
        """Counts one failure; returns how many this key has."""
        now = self._clock()
        with self._lock:
            f = self._keys.pop(key, None)
            if f is None or now - f.last > self.forget:
                f = _Failures(0, now)
            f.count, f.last = f.count + 1, now
            self._keys[key] = f
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
            return f.count

    def ok(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)


class Rate:
    """At most ``limit`` calls per ``window`` seconds per key."""

    def __init__(self, *, limit: int, window: float, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._clock = clock
        self._keys: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self._clock()
        with self._lock:
            times = self._keys.pop(key, None) or deque()
            while times and now - times[0] >= self.window:
                times.popleft()
            allowed = len(times) < self.limit
            if allowed:
                times.append(now)
            self._keys[key] = times
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
            return allowed
