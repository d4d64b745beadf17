"""The Chroma index: one collection per audience, embedded on disk or on a Chroma server."""
from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma

from assistant.embeddings import CachedEmbeddings
from assistant.settings import Settings

AUDIENCES = ("public", "staff")


class IndexModelMismatch(RuntimeError):
    """The index was built with another embedding model; mixing vectors would silently break search."""


class StoreUnavailable(RuntimeError):
    """The vector store cannot be reached (e.g. the Chroma server is down)."""


@dataclass
class Record:
    """A stored chunk as retrieval sees it."""

    chunk_id: str
    text: str
    meta: dict

    @property
    def body(self) -> str:
        return self.text.split("\n", 1)[1] if "\n" in self.text else self.text

    @property
    def service_codes(self) -> list[str]:
        return [c for c in str(self.meta.get("service_codes", "")).split(",") if c]


def make_client(settings: Settings) -> chromadb.ClientAPI:
    telemetry = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https", settings=telemetry
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.data_dir / "chroma"), settings=telemetry)


class VectorStore:
    """Public and staff collections; a citizen request only ever opens the public one."""

    def __init__(self, settings: Settings, embeddings: CachedEmbeddings, client: chromadb.ClientAPI | None = None):
        self.settings = settings
        self.embeddings = embeddings
        self.client = client or make_client(settings)
        self._stores: dict[str, Chroma] = {}

    def name(self, audience: str) -> str:
        if audience not in AUDIENCES:
            raise ValueError(f"unknown audience {audience!r}")
        return f"{self.settings.collection_prefix}_{audience}"

    def langchain(self, audience: str) -> Chroma:
        """The langchain vector store over one audience's collection, checked for the right model."""
        if audience not in self._stores:
            try:
                collection = self.client.get_or_create_collection(
                    self.name(audience),
                    metadata={"hnsw:space": "cosine", "embedding_model": self.embeddings.model_id, "revision": "0"},
                )
            except Exception as exc:  # chromadb raises several types for a dead server
                raise StoreUnavailable(f"vector store unavailable: {exc}") from exc
            built_with = (collection.metadata or {}).get("embedding_model")
            if built_with and built_with != self.embeddings.model_id:
                raise IndexModelMismatch(
                    f"the index in {self.name(audience)} was built with {built_with}, but the configured "
                    f"embedder is {self.embeddings.model_id}: run `python ingest.py --rebuild` to rebuild it"
                )
            self._stores[audience] = Chroma(
                collection_name=self.name(audience), embedding_function=self.embeddings, client=self.client
            )
        return self._stores[audience]

    def _collection(self, audience: str):
        return self.langchain(audience)._collection

    def revision(self, audience: str) -> str:
        """Changes whenever ingestion changes the collection; lexical indexes rebuild on it."""
        try:
            collection = self.client.get_collection(self.name(audience))
        except Exception as exc:
            if self._is_missing(exc):
                return "missing"
            raise StoreUnavailable(f"vector store unavailable: {exc}") from exc
        return f"{(collection.metadata or {}).get('revision', '0')}:{collection.count()}"

    @staticmethod
    def _is_missing(exc: Exception) -> bool:
        return "does not exist" in str(exc) or "not found" in str(exc).lower()

    def bump_revision(self, audience: str) -> None:
        collection = self._collection(audience)
        meta = {k: v for k, v in (collection.metadata or {}).items() if not k.startswith("hnsw:")}
        meta["revision"] = str(time.time_ns())
        collection.modify(metadata=meta)

    def records(self, audience: str, where: dict | None = None) -> list[Record]:
        got = self._collection(audience).get(where=where, include=["documents", "metadatas"])
        return [Record(i, d or "", m or {}) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]

    def source_state(self, audience: str) -> dict[str, dict]:
        """Per source file: its stored content hash, expected chunk count and stored chunk ids."""
        got = self._collection(audience).get(include=["metadatas"])
        state: dict[str, dict] = {}
        for chunk_id, meta in zip(got["ids"], got["metadatas"]):
            entry = state.setdefault(meta["source"], {"hashes": set(), "n_chunks": meta.get("n_chunks"), "ids": []})
            entry["hashes"].add(meta.get("file_hash"))
            entry["ids"].append(chunk_id)
        return state

    def add(self, audience: str, ids: list[str], texts: list[str], metadatas: list[dict]) -> None:
        if ids:
            self.langchain(audience).add_texts(texts=texts, metadatas=metadatas, ids=ids)

    def delete(self, audience: str, ids: list[str]) -> None:
        for i in range(0, len(ids), 1000):
            self._collection(audience).delete(ids=ids[i : i + 1000])

    def dense_search(self, query_vector: list[float], audience: str, k: int) -> list[tuple[Record, float]]:
        """Nearest chunks by cosine similarity (1 - cosine distance)."""
        try:
            got = self._collection(audience).query(
                query_embeddings=[query_vector], n_results=k, include=["documents", "metadatas", "distances"]
            )
        except Exception as exc:
            raise StoreUnavailable(f"vector store unavailable: {exc}") from exc
        return [
            (Record(i, d or "", m or {}), 1.0 - float(dist))
            for i, d, m, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])
        ]

    def count(self, audience: str) -> int:
        return self._collection(audience).count()

    def reset(self) -> None:
        """Drops both collections (`ingest.py --rebuild`)."""
        for audience in AUDIENCES:
            try:
                self.client.delete_collection(self.name(audience))
            except Exception as exc:
                if not self._is_missing(exc):
                    raise
        self._stores.clear()
