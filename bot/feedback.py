"""Learners' votes on answers (thumbs up/down plus an optional comment), kept in SQLite.

The admin console imports ``list_feedback``; the chat UI calls ``record_feedback`` from the
Chatbot's like event and ``set_comment``/``retract_feedback`` when a learner adds a note or
takes a vote back.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Iterable

from bot.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    comment TEXT NOT NULL DEFAULT '', question TEXT NOT NULL, answer TEXT NOT NULL,
    citations_json TEXT NOT NULL DEFAULT '[]', provider TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS feedback_ts ON feedback(ts);
"""
MAX_COMMENT = 2000

_ready: set[Path] = set()
_ready_lock = threading.Lock()


def feedback_path(settings: Settings) -> Path:
    return Path(settings.feedback_db) if settings.feedback_db else Path(settings.index_dir) / "feedback.sqlite"


def _connect(settings: Settings) -> sqlite3.Connection:
    path = feedback_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    key = path.resolve()
    if key not in _ready:
        with _ready_lock:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            _ready.add(key)
    return conn


def _vote(vote: int) -> int:
    if vote not in (1, -1):
        raise ValueError(f"vote must be +1 or -1, got {vote!r}")
    return int(vote)


def record_feedback(settings: Settings, *, question: str, answer: str, vote: int, comment: str = "",
                    citations: Iterable[str] = (), provider: str = "") -> int:
    """Stores one vote and returns its id."""
    row = (time.time(), _vote(vote), (comment or "").strip()[:MAX_COMMENT], question or "", answer or "",
           json.dumps([str(c) for c in citations], ensure_ascii=False), provider or "")
    with closing(_connect(settings)) as c:
        cur = c.execute("INSERT INTO feedback(ts, vote, comment, question, answer, citations_json, provider)"
                        " VALUES(?,?,?,?,?,?,?)", row)
        return int(cur.lastrowid)


def set_vote(settings: Settings, feedback_id: int, vote: int) -> bool:
    """A learner switched thumbs on the same answer: one row per answer, not two."""
    with closing(_connect(settings)) as c:
        return c.execute("UPDATE feedback SET vote=?, ts=? WHERE id=?", (_vote(vote), time.time(), int(feedback_id))).rowcount == 1


def set_comment(settings: Settings, feedback_id: int, comment: str) -> bool:
    with closing(_connect(settings)) as c:
        return c.execute("UPDATE feedback SET comment=? WHERE id=?",
                         ((comment or "").strip()[:MAX_COMMENT], int(feedback_id))).rowcount == 1


def retract_feedback(settings: Settings, feedback_id: int) -> bool:
    """Clicking the same thumb again takes the vote back."""
    with closing(_connect(settings)) as c:
        return c.execute("DELETE FROM feedback WHERE id=?", (int(feedback_id),)).rowcount == 1


def list_feedback(settings: Settings, limit: int = 100) -> list[dict]:
    """Newest first. Keys: id, ts, vote, comment, question, answer, citations, provider."""
    if not feedback_path(settings).exists():
        return []
    with closing(_connect(settings)) as c:
        rows = c.execute("SELECT * FROM feedback ORDER BY ts DESC, id DESC LIMIT ?", (max(0, int(limit)),)).fetchall()
    return [{"id": r["id"], "ts": r["ts"], "vote": r["vote"], "comment": r["comment"], "question": r["question"],
             "answer": r["answer"], "citations": json.loads(r["citations_json"] or "[]"), "provider": r["provider"]}
            for r in rows]
