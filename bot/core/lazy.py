"""A value made on first use, once, however many threads ask for it at the same moment."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

_UNSET = object()


class Lazy(Generic[T]):
    """``Lazy(load)()`` runs ``load`` on the first call and returns its result ever after.

    For models and tokenizers that take seconds to load: concurrent first calls wait for the one
    load instead of each starting their own. A load that raises is not remembered; the next call
    tries again. (functools.cache and cached_property take no lock around the first call.)"""

    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._value: object = _UNSET

    def __call__(self) -> T:
        if self._value is _UNSET:
            with self._lock:
                if self._value is _UNSET:
                    self._value = self._load()
        return self._value  # type: ignore[return-value]
