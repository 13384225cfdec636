"""Ingest: discover -> load -> split -> manifest (BM25-searchable) -> embed -> Chroma.

Incremental: a file whose size and mtime are unchanged is skipped without reading; a file whose
bytes are unchanged is skipped without parsing; identical bytes under two paths are stored once.
Crash-safe: each file is one manifest transaction, Chroma is reconciled against the manifest at
the start of every run, and BM25 is derived from the manifest.
OCR last: pictures and PDFs with scanned pages are queued while the other files are parsed and read
after them (stage "ocr", counted in pages), once BM25 holds the rest, so a slow OCR never holds
back the search of the other files of the run.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from bot.core.hashing import file_sha256
from bot.core.settings import Settings
from bot.core.text import tokenize
from bot.index.store import Index, Progress, index_text
from ingest.curricula import CURRICULA_VERSION, detect_curriculum
from ingest.sources import Source, by_path, load_registry
from ingest.splitter import CHUNKER_VERSION, split_doc

log = logging.getLogger("studybot.ingest")

BM25_COMMIT_S = 10.0  # how often a long ingest publishes BM25 while it is still parsing


@dataclass
class IngestReport:
    files_seen: int = 0
    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)  # indexed, but something is missing (e.g. pages need OCR)
    chunks_total: int = 0
    chunks_embedded: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "files_seen": self.files_seen,
            "indexed": self.indexed,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "failed": self.failed,
            "warnings": self.warnings,
            "chunks_total": self.chunks_total,
            "chunks_embedded": self.chunks_embedded,
            "seconds": round(self.seconds, 3),
        }


def _doc_hash(file_hash: str, doc_meta: dict, n: int) -> str:
    # A feed or mailbox yields several documents from one file: keep their ids distinct and stable.
    key = str(doc_meta.get("item_id") or doc_meta.get("link") or "") if n > 1 else ""
    return hashlib.sha256(f"{file_hash}\x00{key}".encode()).hexdigest()[:32] if key else file_hash[:32]


def ingest(
    paths: list[Path] | None,
    settings: Settings,
    *,
    rebuild: bool = False,
    embed: bool = True,
    progress: Progress | None = None,
    index: Index | None = None,
) -> IngestReport:
    """Index ``paths`` (default: the library). Each parsed file is committed (manifest, then BM25
    every few seconds) before anything is embedded, so it is keyword-searchable long before its
    vectors exist; ``embed=False`` leaves those to ``Index.embed_pending`` or the background embedder.

    ``index``: the process's open index (``Components.index``), so the chat reading it sees the new
    state at once and its background embedder wakes; without it a one-shot run opens its own.
    One writer per index at a time: the file lock serializes them, threads of this process included.
    The chat keeps reading the last committed state meanwhile."""
    t0 = time.time()
    rep = IngestReport()
    idx = index or Index(settings)
    with _index_file_lock(idx.dir):
        if rebuild:
            idx.wipe()
        idx.check_embedder(for_write=True)
        idx.reconcile()
        chunking = f"{settings.chunk_size}/{settings.chunk_overlap}/{CHUNKER_VERSION}"
        stored = idx.manifest.get_meta("chunking")
        rechunk = stored != chunking and idx.manifest.stats()["chunks"] > 0
        # Documents indexed before curricula were detected (or by an older detector) are read again
        # once, the way a chunk-settings change does it: unchanged chunks keep their vectors.
        stale_curricula = (idx.manifest.get_meta("curricula") != CURRICULA_VERSION
                           and idx.manifest.stats()["chunks"] > 0)
        if rechunk:
            log.warning("chunk settings changed (%s -> %s): re-chunking every indexed file", stored or "unrecorded", chunking)
        elif stale_curricula:
            log.warning("curriculum detection changed: reading every indexed file again (vectors are kept)")
        rechunk = rechunk or stale_curricula
        if rechunk:
            # Chunks cut with other settings would stay as they were (unchanged files are skipped):
            # every indexed file is cut again, whatever was asked for. Chunks that come out the same
            # keep their vectors; the rest are embedded anew.
            known = [Path(p) for p, row in idx.manifest.all_files().items() if row["status"] == "ok" and Path(p).exists()]
            paths = [*(paths or [Path(settings.library_dir)]), *known]
        changed = _parse_all(idx, settings, paths, rep, progress, rechunk=rechunk)
        if rechunk or stored is None:
            idx.manifest.set_meta("chunking", chunking)
        idx.manifest.set_meta("curricula", CURRICULA_VERSION)
        if changed:
            idx.reconcile()
        idx.commit_bm25()
        idx.pending.set()  # a background embedder on this index starts on the new chunks at once
        if embed:
            rep.chunks_embedded = idx.embed_pending(progress)
        rep.chunks_total = idx.manifest.stats()["chunks"]
        rep.seconds = time.time() - t0
        idx.manifest.add_report(t0, rep.to_json())
    return rep


def _parse_all(idx: Index, settings: Settings, paths: list[Path] | None, rep: IngestReport,
               progress: Progress | None, rechunk: bool = False) -> bool:
    """Discover, parse and commit every new or changed file; drop vanished ones. True if anything changed."""
    from ingest.discover import discover

    root = Path(settings.library_dir).resolve()
    roots = [Path(p).resolve() for p in (paths or [root])]
    registry = by_path(load_registry(root))
    files, skipped = discover(roots, root, settings.max_file_mb, settings.max_depth)
    rep.files_seen = len(files) + len(skipped)
    rep.failed.extend(skipped)
    known = idx.manifest.all_files()
    changed = False
    last_bm25 = time.monotonic()
    recut: set[str] | None = set() if rechunk else None  # file hashes already cut again in this run
    # (path, pictures to read) for files only OCR can complete; None: no OCR here, load what has text.
    queued: list[tuple[Path, int]] | None = [] if _ocr_usable(settings) else None
    for i, path in enumerate(files):
        if progress:
            progress("parsing", i, len(files))
        changed |= _ingest_file(idx, settings, path, known.get(str(path)), registry, rep, recut, queue=queued)
        # Long runs publish BM25 as they go, so early files are searchable before the last is parsed.
        if changed and time.monotonic() - last_bm25 > BM25_COMMIT_S:
            idx.commit_bm25()
            last_bm25 = time.monotonic()
    if progress:
        progress("parsing", len(files), len(files))
    if queued:
        changed |= _ocr_queued(idx, settings, queued, known, registry, rep, recut, progress, changed)

    # Files that disappeared from the walked roots leave the index too.
    seen = {str(p) for p in files}
    for row in idx.manifest.files_under([str(r) for r in roots if r.is_dir()]):
        if row["path"] not in seen and not Path(row["path"]).exists():
            idx.manifest.remove_file(row["path"])
            rep.removed += 1
            changed = True
    return changed


def _ocr_usable(settings: Settings) -> bool:
    from ingest import ocr

    return settings.ocr and ocr.available()


def _ocr_queued(idx: Index, settings: Settings, queued: list[tuple[Path, int]], known: dict, registry: dict,
                rep: IngestReport, recut: set[str] | None, progress: Progress | None, changed: bool) -> bool:
    """Read the queued files with OCR, after the rest of the run is committed and searchable."""
    from ingest.ocr import Ocr

    if changed:
        idx.commit_bm25()
        idx.pending.set()  # a background embedder starts on the text files while OCR runs
    total = sum(n for _, n in queued)
    done = 0
    last_bm25 = time.monotonic()

    def page_read() -> None:
        nonlocal done
        done += 1
        if progress:
            progress("ocr", min(done, total), total)

    if progress:
        progress("ocr", 0, total)
    any_change = False
    with Ocr(on_page=page_read) as engine:
        for path, pages in queued:
            start = done
            any_change |= _ingest_file(idx, settings, path, known.get(str(path)), registry, rep, recut, ocr=engine)
            done = start + pages  # a file may hold more or fewer pictures than its pages: keep the total honest
            if progress:
                progress("ocr", min(done, total), total)
            if any_change and time.monotonic() - last_bm25 > BM25_COMMIT_S:
                idx.commit_bm25()
                last_bm25 = time.monotonic()
        if engine.pages:
            log.info("OCR: %d pictures in %.1f s (%.1f s each)", engine.pages, engine.seconds, engine.seconds / engine.pages)
    return any_change


def _ingest_file(idx: Index, settings: Settings, path: Path, row, registry: dict, rep: IngestReport,
                 recut: set[str] | None = None, *, queue: list | None = None, ocr=None) -> bool:
    """One file, one manifest transaction. Returns True if the index changed. ``recut``: re-chunking
    (the chunk settings changed), with the file hashes already cut again in this run.
    ``queue``: OCR is possible; a file that needs it is appended there (path, pictures) and left for
    later. ``ocr``: the engine to read such a file with now."""
    from ingest.loaders import LoadError, NeedsOcr, load_path

    key = str(path)
    try:
        st = path.stat()
        ok_before = bool(row) and row["status"] == "ok"
        if row and row["size"] == st.st_size and row["mtime"] == st.st_mtime and not (recut is not None and ok_before):
            if row["status"] == "ok":
                rep.unchanged += 1
            else:  # the same bytes failed before: say so again without paying to parse them again
                rep.failed.append({"path": key, "reason": row["error"] or "failed"})
            return False
        fh = file_sha256(path)
        if recut is not None and fh in recut:
            if not (ok_before and row["file_hash"] == fh):
                idx.manifest.replace_file(key, fh, st.st_size, st.st_mtime, [])
            rep.indexed += 1
            return True
        if recut is None and ok_before and row["file_hash"] == fh:
            idx.manifest.touch(key, st.st_size, st.st_mtime)
            rep.unchanged += 1
            return False
        if recut is None and idx.manifest.has_file_hash(fh):
            idx.manifest.replace_file(key, fh, st.st_size, st.st_mtime, [])  # same bytes elsewhere: stored once
            rep.indexed += 1
            return True
        try:
            docs = load_path(path, ocr=ocr)
        except NeedsOcr as e:
            if queue is None:
                raise LoadError(f"{e} ({_ocr_off(settings)})") from e
            queue.append((path, e.pages))
            return False
        scanned = sum(len(d.meta.get("ocr_pages") or ()) for d in docs)
        if scanned and queue is not None:
            queue.append((path, scanned))  # indexed whole, scans included, once OCR has read them
            return False
        _apply_registry(docs, registry.get(key))
        payload = []
        for d in docs:
            dh = _doc_hash(fh, d.meta, len(docs))
            chunks = split_doc(d, dh, settings.chunk_size, settings.chunk_overlap)
            if not chunks:
                continue
            info = {"title": d.title, "kind": d.kind, "lang": d.lang, "meta": d.meta,
                    "curriculum": _curriculum(d, chunks)}
            payload.append((dh, info, chunks, [tokenize(index_text(c)) for c in chunks]))
        if not payload:
            raise LoadError("no text found")
        warning = _warning(docs)
        idx.manifest.replace_file(key, fh, st.st_size, st.st_mtime, payload, warning=warning, rechunk=recut is not None)
        if recut is not None:
            recut.add(fh)
        if warning:
            rep.warnings.append({"path": key, "warning": warning})
        rep.indexed += 1
        return True
    except LoadError as e:
        _fail(idx, rep, path, str(e))
    except Exception as e:  # noqa: BLE001 - one bad file must never stop the run
        log.exception("failed to ingest %s", path)
        _fail(idx, rep, path, f"{type(e).__name__}: {e}")
    return False


def _ocr_off(settings: Settings) -> str:
    from ingest.ocr import INSTALL_HINT

    return "OCR is off: STUDYBOT_OCR=false" if not settings.ocr else INSTALL_HINT


def _curriculum(doc, chunks) -> dict | None:
    """The learning path the document lays out, if any; a detector bug must not cost the file its index."""
    try:
        return detect_curriculum(doc, chunks)
    except Exception:  # noqa: BLE001
        log.exception("curriculum detection failed for %s", doc.path)
        return None


def _warning(docs) -> str | None:
    """Loader warnings worth showing an admin (e.g. PDF pages that need OCR), as one line."""
    notes = [w for d in docs for w in (d.meta.get("warnings") or [])]
    return "; ".join(dict.fromkeys(notes)) or None


@contextmanager
def _index_file_lock(index_dir: Path) -> Iterator[None]:
    """One writer per index across processes too (CLI and app). flock belongs to the open file, so two
    threads of one process (the console's re-index, a CLI-style call) exclude each other as well: no
    process-wide lock object is needed. The kernel drops the lock when its holder dies, so a killed
    ingest never blocks the next one."""
    with open(Path(index_dir) / "ingest.lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("another ingest is writing %s: waiting for it to finish", index_dir)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _apply_registry(docs, src: Source | None) -> None:
    if src is None:
        return
    for d in docs:
        if src.title and len(docs) == 1:
            d.title = src.title
        if src.kind:
            d.kind = src.kind
        if src.language:
            d.lang = src.language
        if src.tags:
            d.meta["tags"] = src.tags
        d.meta["source_id"] = src.id


def _fail(idx: Index, rep: IngestReport, path: Path, reason: str) -> None:
    rep.failed.append({"path": str(path), "reason": reason})
    try:
        st = path.stat()
        idx.manifest.mark_failed(str(path), reason, st.st_size, st.st_mtime)
    except OSError:
        idx.manifest.mark_failed(str(path), reason)


# --- one source at a time (the admin console's and `studybot sources`' actions) ------------------------

class SourceError(ValueError):
    """A per-source action refused; str(e) is a short reason meant for the admin."""


def remove_source(path: str, settings: Settings, *, index: Index | None = None) -> int:
    """Drop the indexed source at ``path`` (as the manifest names it) from the index at once: its passages
    leave the manifest and BM25, their vectors leave the vector store. The file itself is not touched.
    Returns how many passages left (0 when another path holds the same bytes and keeps them)."""
    idx = index or Index(settings)
    with _index_file_lock(idx.dir):
        if idx.manifest.file_row(path) is None:
            raise SourceError(f"not an indexed source: {path}")
        ids = [c.id for c in idx.manifest.file_passages(path)]
        # Manifest first, then vectors: a crash in between leaves orphan vectors, which ``reconcile`` drops.
        idx.manifest.remove_file(path)
        gone = sorted(set(ids) - idx.manifest.existing(ids))
        if gone:
            idx.vectors.delete(gone)
        idx.commit_bm25()
    return len(gone)


def reparse_source(path: str, settings: Settings, *, index: Index | None = None, embed: bool = True) -> IngestReport:
    """Parse and chunk the indexed file at ``path`` again even if it did not change (a loader was fixed, a
    failed file should be retried). Passages that come out the same keep their vectors."""
    idx = index or Index(settings)
    p = Path(path)
    t0 = time.time()
    with _index_file_lock(idx.dir):
        row = idx.manifest.file_row(path)
        if row is None:
            raise SourceError(f"not an indexed source: {path}")
        if not p.is_file():
            raise SourceError(f"the file is gone: {path} (re-index to drop it from the index)")
        idx.check_embedder(for_write=True)
        rep = IngestReport(files_seen=1)
        registry = by_path(load_registry(Path(settings.library_dir).resolve()))
        # recut: cut again whatever the size and time say; a failed row is parsed as a new file.
        if _ingest_file(idx, settings, p, row if row["status"] == "ok" else None, registry, rep, recut=set()):
            idx.reconcile()
        idx.commit_bm25()
        idx.pending.set()
        if embed:
            rep.chunks_embedded = idx.embed_pending()
        rep.chunks_total = idx.manifest.stats()["chunks"]
        rep.seconds = time.time() - t0
    return rep


FILE_POLICIES = ("auto", "keep", "delete")


def delete_source(path: str, settings: Settings, *, index: Index | None = None, file: str = "auto") -> dict:
    """Remove a source from the index at once, and its file as ``file`` says: ``auto`` deletes the file
    only when it was uploaded through the console (``<library>/uploads/``), ``keep`` never, ``delete``
    whenever it is inside the library (never a file elsewhere). A kept file inside the library comes back
    at the next re-index: the result says so (``returns``); disabling the source keeps it out for good.
    Returns {"passages": n, "file_deleted": bool, "returns": bool}."""
    from ingest.uploads import is_upload

    if file not in FILE_POLICIES:
        raise SourceError(f"file must be one of {', '.join(FILE_POLICIES)}")
    lib = Path(settings.library_dir).resolve()
    p = Path(path)
    inside = p.is_relative_to(lib)
    drop_file = inside and not p.is_symlink() and (file == "delete" or (file == "auto" and is_upload(p, settings)))
    n = remove_source(path, settings, index=index)
    deleted = False
    if drop_file and p.is_file():
        p.unlink()
        deleted = True
    return {"passages": n, "file_deleted": deleted, "returns": inside and p.exists()}
