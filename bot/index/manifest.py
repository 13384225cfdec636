"""The SQLite manifest: the source of truth for what is indexed.

Files map to documents by content hash (two paths with identical bytes share one document), and
documents own chunks. Chunk text and tokens live here, so BM25 can be rebuilt and Chroma can be
reconciled from this file alone after any crash: every change is one SQLite transaction.

Every query of the index is a named method here: no other module writes SQL against this file or
touches its connection, so the schema can change in one place. Rows leave as ``Chunk`` objects
(``_chunk``), plain dicts or read-only ``sqlite3.Row`` records, never as a cursor.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from bot.core.types import Chunk

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, file_hash TEXT, size INTEGER, mtime REAL,
    status TEXT NOT NULL, error TEXT, updated_at REAL, warning TEXT, disabled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS files_hash ON files(file_hash);
CREATE TABLE IF NOT EXISTS docs (
    doc_hash TEXT PRIMARY KEY, file_hash TEXT NOT NULL, path TEXT NOT NULL, title TEXT, kind TEXT,
    lang TEXT, meta_json TEXT, n_chunks INTEGER, indexed_at REAL
);
CREATE INDEX IF NOT EXISTS docs_file ON docs(file_hash);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, doc_hash TEXT NOT NULL, ordinal INTEGER, text TEXT NOT NULL,
    page INTEGER, section TEXT, tokens TEXT NOT NULL, embedded INTEGER NOT NULL DEFAULT 0,
    ocr INTEGER NOT NULL DEFAULT 0, date TEXT, link TEXT
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_hash);
CREATE INDEX IF NOT EXISTS chunks_embedded ON chunks(embedded);
CREATE TABLE IF NOT EXISTS reports (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at REAL, report_json TEXT);
CREATE TABLE IF NOT EXISTS curricula (doc_hash TEXT PRIMARY KEY, curriculum_json TEXT NOT NULL);
"""

# A passage with its document's fields: the one query and the one conversion every Chunk read
# from the manifest goes through.
_CHUNKS = ("SELECT c.id, c.text, c.page, c.section, c.ordinal, c.doc_hash, c.ocr, c.date, c.link, d.path, d.title,"
           " d.kind, d.lang"
           " FROM chunks c JOIN docs d ON d.doc_hash=c.doc_hash")


# A document is searchable while some file holding its bytes is not disabled by the admin (two paths
# with identical bytes share one document: disabling one of them leaves it reachable by the other).
_ENABLED = "EXISTS (SELECT 1 FROM files f WHERE f.file_hash=d.file_hash AND f.disabled=0)"


def _chunk(r: sqlite3.Row) -> Chunk:
    return Chunk(id=r["id"], text=r["text"], path=r["path"], title=r["title"] or "", kind=r["kind"] or "doc",
                 page=r["page"], section=r["section"], ordinal=r["ordinal"] or 0, lang=r["lang"],
                 source_hash=r["doc_hash"], ocr=bool(r["ocr"]), date=r["date"], link=r["link"])


class Manifest:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        # executescript manages its own transaction.
        self._conn().executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        cols = {r["name"] for r in self._q("PRAGMA table_info(files)")}
        if "warning" not in cols:  # manifests written before warnings existed
            with self._tx() as c:
                c.execute("ALTER TABLE files ADD COLUMN warning TEXT")
        if "disabled" not in cols:  # ... and before an admin could disable a source
            with self._tx() as c:
                c.execute("ALTER TABLE files ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0")
        cols = {r["name"] for r in self._q("PRAGMA table_info(chunks)")}
        if "ocr" not in cols:  # written before OCR existed
            with self._tx() as c:
                c.execute("ALTER TABLE chunks ADD COLUMN ocr INTEGER NOT NULL DEFAULT 0")
        if "date" not in cols:  # manifests written before passages carried a date and a link (re-chunked by ingest)
            with self._tx() as c:
                c.execute("ALTER TABLE chunks ADD COLUMN date TEXT")
                c.execute("ALTER TABLE chunks ADD COLUMN link TEXT")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            # WAL lets the chat keep reading the last committed state while an ingest writes.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        c = self._conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        else:
            c.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Several reads that see one committed state (WAL gives a read transaction its snapshot)."""
        c = self._conn()
        if c.in_transaction:
            yield
            return
        c.execute("BEGIN")
        try:
            yield
        finally:
            c.execute("COMMIT")

    def _q(self, sql: str, args: Iterable = ()) -> list[sqlite3.Row]:
        return self._conn().execute(sql, tuple(args)).fetchall()

    # --- meta ----------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._set_meta(self._conn(), key, value)

    @staticmethod
    def _set_meta(c: sqlite3.Connection, key: str, value: str) -> None:
        c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, value))

    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    def record_embedder(self, model_id: str, tokenizer_version: str) -> None:
        """A first write names the embedder its vectors come from; an empty index also records the
        tokenizer, since every token it will store is current."""
        with self._tx() as c:
            self._set_meta(c, "embedder", model_id)
            if not c.execute("SELECT 1 FROM chunks LIMIT 1").fetchone():
                self._set_meta(c, "tokenizer", tokenizer_version)

    def clear(self) -> None:
        """Drop every file, document, chunk and meta value (``--rebuild``), in one transaction.

        The generation only ever grows: other processes' caches (BM25, the exact dense copy) compare
        it, and a rebuilt index must not look like the one they hold."""
        with self._tx() as c:
            gen = c.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
            for t in ("curricula", "chunks", "docs", "files", "meta"):
                c.execute(f"DELETE FROM {t}")
            self._set_meta(c, "generation", str(int(gen[0] if gen else 0) + 1))

    @staticmethod
    def _bump_generation(conn: sqlite3.Connection) -> None:
        cur = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES('generation', ?)", (str(int(cur[0] if cur else 0) + 1),)
        )

    # --- files & docs ----------------------------------------------------------
    def file_row(self, path: str) -> sqlite3.Row | None:
        rows = self._q("SELECT * FROM files WHERE path=?", (path,))
        return rows[0] if rows else None

    def all_files(self) -> dict[str, sqlite3.Row]:
        """Every file row by path, in one query (a no-change re-index must not ask once per file)."""
        return {r["path"]: r for r in self._q("SELECT * FROM files")}

    def files_under(self, prefixes: list[str]) -> list[sqlite3.Row]:
        rows = self._q("SELECT * FROM files")
        return [r for r in rows if any(r["path"] == p or r["path"].startswith(p.rstrip("/") + "/") for p in prefixes)]

    def has_file_hash(self, file_hash: str) -> bool:
        return bool(self._q("SELECT 1 FROM docs WHERE file_hash=? LIMIT 1", (file_hash,)))

    def replace_file(
        self,
        path: str,
        file_hash: str,
        size: int,
        mtime: float,
        docs: list[tuple[str, dict, list[Chunk], list[list[str]]]],
        warning: str | None = None,
        rechunk: bool = False,
    ) -> None:
        """Atomically point ``path`` at new content and store that content's documents and chunks.

        ``rechunk``: replace the chunks already stored for these bytes (the chunk settings changed);
        a chunk whose id survives (same document, place and text) keeps its vector."""
        with self._tx() as c:
            kept: set[str] = set()
            if rechunk and docs:
                old_docs = [r["doc_hash"] for r in c.execute("SELECT doc_hash FROM docs WHERE file_hash=?", (file_hash,))]
                for d in old_docs:
                    kept |= {r["id"] for r in c.execute("SELECT id FROM chunks WHERE doc_hash=? AND embedded=1", (d,))}
                    c.execute("DELETE FROM chunks WHERE doc_hash=?", (d,))
                    c.execute("DELETE FROM curricula WHERE doc_hash=?", (d,))
                c.execute("DELETE FROM docs WHERE file_hash=?", (file_hash,))
            old = c.execute("SELECT file_hash, disabled FROM files WHERE path=?", (path,)).fetchone()
            # A source the admin disabled stays disabled when its file changes and is indexed again.
            c.execute(
                "INSERT OR REPLACE INTO files(path, file_hash, size, mtime, status, error, updated_at, warning, disabled)"
                " VALUES(?,?,?,?,?,?,?,?,?)",
                (path, file_hash, size, mtime, "ok", None, time.time(), warning, old["disabled"] if old else 0),
            )
            if old and old["file_hash"] and old["file_hash"] != file_hash:
                self._drop_hash_if_unreferenced(c, old["file_hash"], path)
            exists = c.execute("SELECT 1 FROM docs WHERE file_hash=? LIMIT 1", (file_hash,)).fetchone()
            if not exists:
                for doc_hash, info, chunks, tokens in docs:
                    c.execute(
                        "INSERT OR REPLACE INTO docs(doc_hash, file_hash, path, title, kind, lang, meta_json, n_chunks, indexed_at)"
                        " VALUES(?,?,?,?,?,?,?,?,?)",
                        (
                            doc_hash, file_hash, path, info.get("title"), info.get("kind"), info.get("lang"),
                            json.dumps(info.get("meta") or {}, ensure_ascii=False, default=str), len(chunks), time.time(),
                        ),
                    )
                    c.executemany(
                        "INSERT OR REPLACE INTO chunks(id, doc_hash, ordinal, text, page, section, tokens, embedded, ocr,"
                        " date, link) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                        [
                            (ch.id, doc_hash, ch.ordinal, ch.text, ch.page, ch.section, " ".join(tk), int(ch.id in kept),
                             int(ch.ocr), ch.date, ch.link)
                            for ch, tk in zip(chunks, tokens)
                        ],
                    )
                    if info.get("curriculum"):  # a learning path found in the document (ingest.curricula)
                        c.execute("INSERT OR REPLACE INTO curricula(doc_hash, curriculum_json) VALUES(?, ?)",
                                  (doc_hash, json.dumps(info["curriculum"], ensure_ascii=False)))
            self._bump_generation(c)

    def mark_failed(self, path: str, reason: str, size: int | None = None, mtime: float | None = None) -> None:
        """Record a failure; a previously good version of the file stays indexed (nothing is lost)."""
        with self._tx() as c:
            old = c.execute("SELECT file_hash, disabled FROM files WHERE path=?", (path,)).fetchone()
            c.execute(
                "INSERT OR REPLACE INTO files(path, file_hash, size, mtime, status, error, updated_at, disabled)"
                " VALUES(?,?,?,?,?,?,?,?)",
                (path, old["file_hash"] if old else None, size, mtime, "failed", reason, time.time(),
                 old["disabled"] if old else 0),
            )

    def touch(self, path: str, size: int, mtime: float) -> None:
        with self._tx() as c:
            c.execute("UPDATE files SET size=?, mtime=?, updated_at=? WHERE path=?", (size, mtime, time.time(), path))

    def remove_file(self, path: str) -> None:
        with self._tx() as c:
            old = c.execute("SELECT file_hash FROM files WHERE path=?", (path,)).fetchone()
            c.execute("DELETE FROM files WHERE path=?", (path,))
            if old and old["file_hash"]:
                self._drop_hash_if_unreferenced(c, old["file_hash"], path)
            self._bump_generation(c)

    @staticmethod
    def _drop_hash_if_unreferenced(c: sqlite3.Connection, file_hash: str, leaving_path: str) -> None:
        other = c.execute(
            "SELECT path FROM files WHERE file_hash=? AND path<>? AND status='ok' ORDER BY path LIMIT 1",
            (file_hash, leaving_path),
        ).fetchone()
        if other:
            # Same bytes still reachable by another path: keep the document, cite the surviving path.
            c.execute("UPDATE docs SET path=? WHERE file_hash=? AND path=?", (other["path"], file_hash, leaving_path))
            return
        docs = [r["doc_hash"] for r in c.execute("SELECT doc_hash FROM docs WHERE file_hash=?", (file_hash,))]
        for d in docs:
            c.execute("DELETE FROM chunks WHERE doc_hash=?", (d,))
            c.execute("DELETE FROM curricula WHERE doc_hash=?", (d,))
        c.execute("DELETE FROM docs WHERE file_hash=?", (file_hash,))

    # --- chunks ------------------------------------------------------------------
    def all_chunk_tokens(self) -> tuple[list[str], list[list[str]]]:
        rows = self._q("SELECT id, tokens FROM chunks ORDER BY id")
        return [r["id"] for r in rows], [r["tokens"].split(" ") if r["tokens"] else [] for r in rows]

    def chunk_id_list(self) -> list[str]:
        return [r["id"] for r in self._q("SELECT id FROM chunks ORDER BY id")]

    def chunk_tokens(self, ids: list[str]) -> list[list[str]]:
        """Stored BM25 tokens of ``ids``, in that order."""
        out: dict[str, list[str]] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            for r in self._q(f"SELECT id, tokens FROM chunks WHERE id IN ({','.join('?' * len(part))})", part):
                out[r["id"]] = r["tokens"].split(" ") if r["tokens"] else []
        return [out.get(i, []) for i in ids]

    def text_occurs(self, text: str) -> bool:
        """Whether some passage contains ``text`` (a scan: tens of milliseconds for 27k passages)."""
        return bool(self._q("SELECT 1 FROM chunks WHERE instr(text, ?) > 0 LIMIT 1", (text,)))

    def chunk_ids(self) -> set[str]:
        return {r["id"] for r in self._q("SELECT id FROM chunks")}

    def count_unembedded(self) -> int:
        return self._q("SELECT count(*) AS n FROM chunks WHERE embedded=0")[0]["n"]

    def count_embedded(self) -> int:
        return self._q("SELECT count(*) AS n FROM chunks WHERE embedded=1")[0]["n"]

    def embedded_ids(self) -> set[str]:
        return {r["id"] for r in self._q("SELECT id FROM chunks WHERE embedded=1")}

    def _ids_where(self, ids: list[str], condition: str = "1") -> set[str]:
        if not ids:
            return set()
        rows = self._q(f"SELECT id FROM chunks WHERE {condition} AND id IN ({','.join('?' * len(ids))})", ids)
        return {r["id"] for r in rows}

    def unembedded_among(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` still exist and still wait for a vector."""
        return self._ids_where(ids, "embedded=0")

    def existing(self, ids: list[str]) -> set[str]:
        return self._ids_where(ids)

    def unembedded(self, limit: int = 100000) -> list[Chunk]:
        """Chunks waiting for a vector, shortest first (similar lengths then share an embedding batch)."""
        return [_chunk(r) for r in self._q(_CHUNKS + " WHERE c.embedded=0 ORDER BY length(c.text) LIMIT ?", (limit,))]

    @contextmanager
    def pending_held_back(self, keep: Iterable[str] = ()) -> Iterator[None]:
        """Chunks waiting for a vector, except ``keep``, are not offered for embedding inside the block
        (the corpus bench times embedding a few chunks of a library with hours of pending work)."""
        keep = list(keep)
        with self._tx() as c:
            c.execute(f"UPDATE chunks SET embedded=-1 WHERE embedded=0 AND id NOT IN ({','.join('?' * len(keep))})", keep)
        try:
            yield
        finally:
            with self._tx() as c:
                c.execute("UPDATE chunks SET embedded=0 WHERE embedded=-1")

    def mark_embedded(self, ids: list[str], value: int = 1) -> None:
        with self._tx() as c:
            c.executemany("UPDATE chunks SET embedded=? WHERE id=?", [(value, i) for i in ids])

    def reset_embedded(self) -> None:
        with self._tx() as c:
            c.execute("UPDATE chunks SET embedded=0")

    def load_chunks(self, ids: list[str]) -> dict[str, Chunk]:
        if not ids:
            return {}
        out: dict[str, Chunk] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            for r in self._q(_CHUNKS + f" WHERE c.id IN ({','.join('?' * len(part))})", part):
                out[r["id"]] = _chunk(r)
        return out

    def all_chunks(self, enabled_only: bool = False) -> list[Chunk]:
        """Every chunk, in document order (by path, then place in the document); ``enabled_only``:
        without the passages of sources the admin disabled."""
        where = " WHERE " + _ENABLED if enabled_only else ""
        return [_chunk(r) for r in self._q(_CHUNKS + where + " ORDER BY d.path, c.ordinal")]

    def retokenize(self, tokens_of: Callable[[Chunk], list[str]], tokenizer_version: str) -> None:
        """Recompute every chunk's stored BM25 tokens (an index built by an older tokenizer) and record
        the tokenizer, in one transaction: vectors are untouched."""
        chunks = self.all_chunks()
        with self._tx() as c:
            c.executemany("UPDATE chunks SET tokens=? WHERE id=?", [(" ".join(tokens_of(ch)), ch.id) for ch in chunks])
            self._set_meta(c, "tokenizer", tokenizer_version)

    def documents(self) -> list[dict]:
        """Indexed documents by title: path, title, lang, n_chunks (disabled sources left out)."""
        return [dict(r) for r in self._q("SELECT path, title, kind, lang, n_chunks FROM docs d WHERE " + _ENABLED
                                         + " ORDER BY title, path")]

    def neighbours(self, chunk: Chunk) -> tuple[Chunk | None, Chunk | None]:
        rows = self._q(
            "SELECT id FROM chunks WHERE doc_hash=? AND ordinal IN (?, ?) ORDER BY ordinal",
            (chunk.source_hash, chunk.ordinal - 1, chunk.ordinal + 1),
        )
        got = self.load_chunks([r["id"] for r in rows])
        prev = next((c for c in got.values() if c.ordinal == chunk.ordinal - 1), None)
        nxt = next((c for c in got.values() if c.ordinal == chunk.ordinal + 1), None)
        return prev, nxt

    def stats(self) -> dict:
        r = self._q(
            "SELECT (SELECT count(*) FROM chunks) AS chunks, (SELECT count(*) FROM chunks WHERE embedded=1) AS embedded,"
            " (SELECT count(*) FROM docs) AS docs, (SELECT count(*) FROM files WHERE status='ok') AS files_ok,"
            " (SELECT count(*) FROM files WHERE status='failed') AS files_failed"
        )[0]
        return dict(r)

    def langs_of(self, ids: list[str]) -> dict[str, str]:
        """Language of each chunk's document."""
        out: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            for r in self._q(
                "SELECT c.id, d.lang FROM chunks c JOIN docs d ON d.doc_hash=c.doc_hash"
                f" WHERE c.id IN ({','.join('?' * len(part))})", part,
            ):
                out[r["id"]] = r["lang"] or "en"
        return out

    def chunk_ids_of(self, paths: Iterable[str] | None = None, lang: str | None = None) -> set[str]:
        """The passages of the documents at ``paths`` (None: all) in ``lang`` (None: any)."""
        where, args = [], []
        if lang is not None:
            where.append("COALESCE(d.lang, 'en') = ?")
            args.append(lang)
        sql = "SELECT c.id FROM chunks c JOIN docs d ON d.doc_hash=c.doc_hash"
        if paths is None:
            return {r["id"] for r in self._q(sql + (" WHERE " + " AND ".join(where) if where else ""), args)}
        paths, out = list(paths), set()
        for i in range(0, len(paths), 500):
            part = paths[i : i + 500]
            cond = where + [f"d.path IN ({','.join('?' * len(part))})"]
            out |= {r["id"] for r in self._q(sql + " WHERE " + " AND ".join(cond), args + part)}
        return out

    def dates_of(self, ids: list[str]) -> dict[str, str]:
        """The date of each dated chunk among ``ids`` (undated ones are left out)."""
        out: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            for r in self._q(f"SELECT id, date FROM chunks WHERE date IS NOT NULL AND id IN ({','.join('?' * len(part))})", part):
                out[r["id"]] = r["date"]
        return out

    def chunks_by_lang(self) -> dict[str, int]:
        rows = self._q("SELECT d.lang AS lang, count(*) AS n FROM chunks c JOIN docs d ON c.doc_hash = d.doc_hash GROUP BY d.lang")
        return {r["lang"] or "en": r["n"] for r in rows}

    def sources(self) -> list[dict]:
        rows = self._q(
            "SELECT f.path, f.status, f.error, f.warning, f.updated_at, f.disabled, d.title, d.kind, d.lang,"
            " (SELECT count(*) FROM chunks c JOIN docs d2 ON d2.doc_hash=c.doc_hash WHERE d2.file_hash=f.file_hash) AS chunks,"
            " (SELECT count(*) FROM docs d3 WHERE d3.file_hash=f.file_hash) AS docs"
            " FROM files f LEFT JOIN docs d ON d.file_hash=f.file_hash AND d.doc_hash=(SELECT min(doc_hash) FROM docs WHERE file_hash=f.file_hash)"
            " ORDER BY f.path"
        )
        return [dict(r) for r in rows]

    # --- the admin's per-source control, and the source viewer ---------------------------------------
    def set_disabled(self, path: str, disabled: bool) -> bool:
        """Take the source at ``path`` out of search (or back in), without touching its passages or
        vectors. False when no such source is indexed. Not a new generation: BM25 and the exact dense
        copy stay as they are, the retriever drops disabled passages (``disabled_among``)."""
        with self._tx() as c:
            cur = c.execute("UPDATE files SET disabled=? WHERE path=?", (int(bool(disabled)), path))
            if cur.rowcount:
                # Readers that cache "is anything disabled" (``disabled_version``) look again.
                v = c.execute("SELECT value FROM meta WHERE key='disabled_version'").fetchone()
                self._set_meta(c, "disabled_version", str(int(v[0] if v else 0) + 1))
            return bool(cur.rowcount)

    def disabled_version(self) -> int:
        return int(self.get_meta("disabled_version") or 0)

    def count_disabled_chunks(self) -> int:
        """Passages of disabled documents (0 on a library where nothing is disabled: one cheap query)."""
        if not self._q("SELECT 1 FROM files WHERE disabled=1 LIMIT 1"):
            return 0
        # From the disabled files to their documents to their chunks, by index: every search asks this.
        return self._q("SELECT count(*) AS n FROM chunks WHERE doc_hash IN (SELECT d.doc_hash FROM docs d WHERE"
                       " d.file_hash IN (SELECT file_hash FROM files WHERE disabled=1) AND NOT " + _ENABLED + ")")[0]["n"]

    def disabled_among(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` belong to a disabled document."""
        out: set[str] = set()
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            out |= {r["id"] for r in self._q(
                "SELECT c.id FROM chunks c JOIN docs d ON d.doc_hash=c.doc_hash"
                f" WHERE c.id IN ({','.join('?' * len(part))}) AND NOT " + _ENABLED, part)}
        return out

    def source_view(self, chunk_id: str) -> dict | None:
        """One passage for the source viewer, with its document's fields (title, kind, lang, meta) and
        whether the document is enabled; None for an unknown id."""
        rows = self._q(_CHUNKS.replace(" FROM chunks", ", d.meta_json, (" + _ENABLED + ") AS enabled FROM chunks")
                       + " WHERE c.id=?", (chunk_id,))
        if not rows:
            return None
        r = rows[0]
        try:
            meta = json.loads(r["meta_json"] or "{}")
        except ValueError:
            meta = {}
        return {"chunk": _chunk(r), "meta": meta if isinstance(meta, dict) else {}, "enabled": bool(r["enabled"])}

    def document_passages(self, doc_hash: str, *, page: int | None = None, around: int | None = None,
                          radius: int = 3) -> list[Chunk]:
        """A document's passages in reading order: those of one ``page`` (a PDF), or the ``radius``
        passages either side of ordinal ``around``, or all of them."""
        sql, args = _CHUNKS + " WHERE c.doc_hash=?", [doc_hash]
        if page is not None:
            sql += " AND c.page=?"
            args.append(page)
        if around is not None:
            sql += " AND c.ordinal BETWEEN ? AND ?"
            args += [around - radius, around + radius]
        return [_chunk(r) for r in self._q(sql + " ORDER BY c.ordinal", args)]

    def file_passages(self, path: str) -> list[Chunk]:
        """Every passage of the source at ``path`` (all its documents: a feed has one per item), in order."""
        return [_chunk(r) for r in self._q(
            _CHUNKS + " WHERE d.file_hash=(SELECT file_hash FROM files WHERE path=?) ORDER BY d.path, d.doc_hash,"
            " c.ordinal", (path,))]

    # --- curricula ------------------------------------------------------------------
    def curricula(self) -> list[dict]:
        """Every learning path found in an indexed document, with the document's current path,
        title and language (the path follows the file: renamed copies keep their curriculum)."""
        # A source the admin disabled lays out no path either.
        rows = self._q("SELECT k.doc_hash, k.curriculum_json, d.path, d.title, d.lang FROM curricula k"
                       " JOIN docs d ON d.doc_hash=k.doc_hash WHERE " + _ENABLED + " ORDER BY d.path, k.doc_hash")
        out = []
        for r in rows:
            cur = json.loads(r["curriculum_json"])
            out.append({**cur, "doc_hash": r["doc_hash"], "path": r["path"], "title": cur.get("title") or r["title"],
                        "lang": cur.get("lang") or r["lang"]})
        return out

    def add_report(self, started_at: float, report: dict) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO reports(started_at, report_json) VALUES(?, ?)", (started_at, json.dumps(report, ensure_ascii=False)))

    def reports(self, limit: int = 20) -> list[dict]:
        rows = self._q("SELECT started_at, report_json FROM reports ORDER BY id DESC LIMIT ?", (limit,))
        return [{"started_at": r["started_at"], **json.loads(r["report_json"])} for r in rows]
