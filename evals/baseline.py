"""The baseline every retrieval claim is measured against: the plain LangChain recipe a learner
copies from a tutorial — RecursiveCharacterTextSplitter(1000, 200), Chroma, dense similarity only,
with the same embedder as the product, over the same files.

Like the tutorial's TextLoader, Markdown/MDX/text files are read raw; other formats (PDF, HTML,
feeds, e-mail) go through our loaders, since a tutorial would need a loader there too. The
comparison then isolates what the product adds: Chinese-aware chunking, section paths, BM25 over
jieba tokens, fusion, translation and de-duplication.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from bot.index.store import Index

log = logging.getLogger("studybot.evals")

CHUNK_SIZE, CHUNK_OVERLAP = 1000, 200
COLLECTION = "langchain_baseline"
RAW_TEXT = {".md", ".mdx", ".markdown", ".txt", ".text", ".rst"}


def _fingerprint(paths: list[str], model_id: str) -> str:
    h = hashlib.sha256(model_id.encode())
    for p in sorted(paths):
        st = Path(p).stat() if Path(p).exists() else None
        h.update(f"{p}\x00{st.st_size if st else -1}\x00{st.st_mtime if st else -1}\n".encode())
    return h.hexdigest()[:16]


class LangChainBaseline:
    """Built once per file set and cached beside the index (``<index_dir>/baseline``)."""

    def __init__(self, index: Index, directory: Path | None = None) -> None:
        self.index = index
        self.dir = Path(directory or Path(index.dir) / "baseline")
        self._store = None

    def _open(self):
        from langchain_chroma import Chroma

        # Our embedder on every open: Chroma must never fall back to downloading its default model.
        return Chroma(collection_name=COLLECTION, embedding_function=self.index.embedder,
                      persist_directory=str(self.dir / "chroma"), collection_metadata={"hnsw:space": "cosine"})

    def build(self, progress=None) -> int:
        """(Re)build when the indexed files changed; returns the number of baseline chunks."""
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from ingest.loaders import LoadError, load_path

        paths = [r["path"] for r in self.index.manifest.sources() if r["status"] == "ok"]
        stamp = self.dir / "fingerprint.json"
        fp = _fingerprint(paths, self.index.embedder.model_id)
        if stamp.exists() and json.loads(stamp.read_text()).get("fingerprint") == fp:
            self._store = self._open()
            return json.loads(stamp.read_text())["chunks"]

        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        docs = []
        for p in paths:
            if Path(p).suffix.lower() in RAW_TEXT:
                text = Path(p).read_bytes().decode("utf-8", errors="replace")
                docs.append(Document(page_content=text, metadata={"path": p, "title": Path(p).stem}))
                continue
            try:
                for d in load_path(Path(p)):
                    text = "\n\n".join(part.text for part in d.parts if part.text.strip())
                    if text.strip():
                        docs.append(Document(page_content=text, metadata={"path": p, "title": d.title or ""}))
            except LoadError as e:
                log.warning("baseline: %s: %s", p, e)
        chunks = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP).split_documents(docs)
        store = self._open()
        batch = 32
        for i in range(0, len(chunks), batch):
            store.add_documents(chunks[i : i + batch], ids=[f"b{j}" for j in range(i, min(i + batch, len(chunks)))])
            if progress:
                progress("baseline", min(i + batch, len(chunks)), len(chunks))
        stamp.write_text(json.dumps({"fingerprint": fp, "chunks": len(chunks)}))
        self._store = store
        return len(chunks)

    def search(self, query: str, k: int = 10) -> list[dict]:
        if self._store is None:
            self.build()
        return [{"path": d.metadata.get("path"), "title": d.metadata.get("title"), "text": d.page_content}
                for d in self._store.similarity_search(query, k=k)]
