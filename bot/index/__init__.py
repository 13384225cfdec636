"""Layer 2: the index: manifest (SQLite, source of truth), BM25, vectors (Chroma + exact copy), the Index
facade (store.py) and the background embedder. Imports bot.core and bot.providers."""
