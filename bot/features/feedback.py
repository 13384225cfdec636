"""Learners' votes on answers (thumbs up/down plus an optional comment), kept in SQLite.

The votes are their own database (``feedback_path``), and this module is the only one that
speaks SQL to it. A ``FeedbackStore`` is that file: the served chat holds one (built once with the
rest of the process, ``bot.components.Components.feedback``) and calls ``record`` from the
Chatbot's like event and ``set_comment``/``retract`` when a learner adds a note or takes a vote
back. The admin console and the CLI read with ``list_feedback(settings)``; the module-level
functions open the store for one call.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import closing
from itertools import islice
from pathlib import Path
from typing import Iterable

from bot.core.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    comment TEXT NOT NULL DEFAULT '', question TEXT NOT NULL, answer TEXT NOT NULL,
    citations_json TEXT NOT NULL DEFAULT '[]', provider TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS feedback_ts ON feedback(ts);
"""
# Caps on what one vote can store, whoever calls: the chat records only exchanges the server produced,
# but a row must never be a way to fill the disk or the admin's table. Each is above what the app
# produces: the bot refuses questions over max_question_chars (2000 by default), an answer is at most
# max_tokens (512 by default) of model output plus a footer, a citation is a title, section and file
# name, and an answer cites a handful of passages.
MAX_QUESTION = 2000
MAX_ANSWER = 8000
MAX_CITATION = 300
MAX_CITATIONS = 20
MAX_PROVIDER = 100
# A comment is a sentence or two about one answer (the box shows three lines): 1000 characters is
# plenty for that, and half of the former 2000 that a flood of comments could add per vote.
MAX_COMMENT = 1000


def feedback_path(settings: Settings) -> Path:
    return Path(settings.feedback_db) if settings.feedback_db else Path(settings.index_dir) / "feedback.sqlite"


def _vote(vote: int) -> int:
    if vote not in (1, -1):
        raise ValueError(f"vote must be +1 or -1, got {vote!r}")
    return int(vote)


def exchange(*, question: str, answer: str, citations: Iterable[str] = (), provider: str = "") -> dict:
    """What a vote stores about the rated exchange, cut to the caps above."""
    return {"question": (question or "")[:MAX_QUESTION], "answer": (answer or "")[:MAX_ANSWER],
            "citations": [str(c)[:MAX_CITATION] for c in islice(citations, MAX_CITATIONS)],
            "provider": (provider or "")[:MAX_PROVIDER]}


def _comment(comment: str) -> str:
    return (comment or "").strip()[:MAX_COMMENT]


class FeedbackStore:
    """The votes database at ``path``: created (schema, WAL) on the first write, a connection per call
    (calls come from the UI's worker threads)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._ready = False
        self._ready_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        if not self._ready:
            with self._ready_lock:
                if not self._ready:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.executescript(SCHEMA)
                    self._ready = True
        return conn

    def record(self, *, question: str, answer: str, vote: int, comment: str = "",
               citations: Iterable[str] = (), provider: str = "") -> int:
        """Stores one vote and returns its id."""
        ex = exchange(question=question, answer=answer, citations=citations, provider=provider)
        row = (time.time(), _vote(vote), _comment(comment), ex["question"], ex["answer"],
               json.dumps(ex["citations"], ensure_ascii=False), ex["provider"])
        with closing(self._connect()) as c:
            cur = c.execute("INSERT INTO feedback(ts, vote, comment, question, answer, citations_json, provider)"
                            " VALUES(?,?,?,?,?,?,?)", row)
            return int(cur.lastrowid)

    def set_vote(self, feedback_id: int, vote: int) -> bool:
        """A learner switched thumbs on the same answer: one row per answer, not two."""
        with closing(self._connect()) as c:
            return c.execute("UPDATE feedback SET vote=?, ts=? WHERE id=?",
                             (_vote(vote), time.time(), int(feedback_id))).rowcount == 1

    def set_comment(self, feedback_id: int, comment: str) -> bool:
        with closing(self._connect()) as c:
            return c.execute("UPDATE feedback SET comment=? WHERE id=?",
                             (_comment(comment), int(feedback_id))).rowcount == 1

    def retract(self, feedback_id: int) -> bool:
        """Clicking the same thumb again takes the vote back."""
        with closing(self._connect()) as c:
            return c.execute("DELETE FROM feedback WHERE id=?", (int(feedback_id),)).rowcount == 1

    def newest(self, limit: int = 100) -> list[dict]:
        """Newest first. Keys: id, ts, vote, comment, question, answer, citations, provider."""
        if not self.path.exists():
            return []
        with closing(self._connect()) as c:
            rows = c.execute("SELECT * FROM feedback ORDER BY ts DESC, id DESC LIMIT ?",
                             (max(0, int(limit)),)).fetchall()
        return [{"id": r["id"], "ts": r["ts"], "vote": r["vote"], "comment": r["comment"], "question": r["question"],
                 "answer": r["answer"], "citations": json.loads(r["citations_json"] or "[]"), "provider": r["provider"]}
                for r in rows]


# One call each, for callers without a long-lived store (the CLI, the admin console's tables, scripts).
def record_feedback(settings: Settings, **vote) -> int:
    """``FeedbackStore.record``'s keywords (question, answer, vote, comment, citations, provider)."""
    return FeedbackStore(feedback_path(settings)).record(**vote)


def set_vote(settings: Settings, feedback_id: int, vote: int) -> bool:
    return FeedbackStore(feedback_path(settings)).set_vote(feedback_id, vote)


def set_comment(settings: Settings, feedback_id: int, comment: str) -> bool:
    return FeedbackStore(feedback_path(settings)).set_comment(feedback_id, comment)


def retract_feedback(settings: Settings, feedback_id: int) -> bool:
    return FeedbackStore(feedback_path(settings)).retract(feedback_id)


def list_feedback(settings: Settings, limit: int = 100) -> list[dict]:
    """Newest first. Keys: id, ts, vote, comment, question, answer, citations, provider."""
    return FeedbackStore(feedback_path(settings)).newest(limit)
