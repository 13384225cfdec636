"""The chat exchanges this server produced, so a 👍/👎 stores the server's own question and answer.

The like event only tells which bubble was rated; its history comes from the client and can say
anything. The chat records each finished exchange here under the exact text of the messages it
displayed (the answer and its sources), and the vote handler stores what it finds under the rated
bubble's text, or nothing.

    log = AnswerLog()
    log.record([answer_text, sources_text], question=q, answer=a, citations=[...], provider="fake:fake")
    log.find(answer_text)   # (exchange id, {question, answer, citations, provider}) or None
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Iterable

from bot.features.feedback import exchange


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class AnswerLog:
    """The most recently used exchanges, one key per displayed message: with ``max_keys=4000``
    about 2000 answers with sources. Each is cut to the feedback caps (at most ~16,000 characters),
    so whoever asks, the log cannot grow past tens of MB."""

    def __init__(self, max_keys: int = 4000) -> None:
        self.max_keys = max_keys
        self._keys: OrderedDict[str, tuple[str, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, texts: Iterable[str], *, question: str, answer: str, citations: Iterable[str] = (),
               provider: str = "") -> None:
        """``texts``: the messages the chat displayed for this exchange, the answer's first (its key
        is the exchange's id)."""
        keys = [_key(t) for t in texts]
        entry = (keys[0], exchange(question=question, answer=answer, citations=citations, provider=provider))
        with self._lock:
            for k in keys:
                self._keys.pop(k, None)
                self._keys[k] = entry
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)

    def find(self, text: str) -> tuple[str, dict] | None:
        k = _key(text)
        with self._lock:
            entry = self._keys.get(k)
            if entry is not None:
                self._keys.move_to_end(k)
            return entry
