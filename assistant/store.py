"""The Chroma index: one collection per audience, embedded on disk or on a Chroma server."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, TypeVar
from urllib.parse import urlparse

import chromadb
import httpx
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError
from langchain_chroma import Chroma

from assistant.embeddings import CachedEmbeddings
from assistant.settings import Settings

AUDIENCES = ("public", "staff")
GET_PAGE = 5000
log = logging.getLogger(__name__)
T = TypeVar("T")


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


def is_unavailable(exc: BaseException) -> bool:
    """A dead, restarting or hung Chroma server, as opposed to a bad request or a bug."""
    if isinstance(exc, (httpx.TransportError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, ChromaError):
        try:
            return exc.code() >= 500
        except Exception:
            return False
    return isinstance(exc, ValueError) and "could not connect" in str(exc).lower()


def make_client(settings: Settings) -> chromadb.ClientAPI:
    telemetry = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https", settings=telemetry
            )
        except Exception as exc:
            if is_unavailable(exc):
                raise StoreUnavailable(f"vector store unavailable at {settings.chroma_url}: {exc}") from exc
            raise
        # chromadb's HTTP session never times out; a hung server must fail a request, not hang it.
        session = getattr(getattr(client, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):
            session.timeout = httpx.Timeout(settings.chroma_timeout_s, connect=min(3.0, settings.chroma_timeout_s))
        return client
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.data_dir / "chroma"), settings=telemetry)


class VectorStore:
    """Public and staff collections; a citizen request only ever opens the public one."""

    def __init__(self, settings: Settings, embeddings: CachedEmbeddings, client: chromadb.ClientAPI | None = None):
        self.settings = settings
        self.embeddings = embeddings
        self._client = client
        self._stores: dict[str, Chroma] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> chromadb.ClientAPI:
        """Connected on first use, so an app can start (and report 503) while its Chroma server is down."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = make_client(self.settings)
        return self._client

    def _call(self, audience: str, op: Callable[[object], T]) -> T:
        """Runs `op` on the audience's collection: a dead server becomes StoreUnavailable, and a collection
        recreated behind our back (another replica's `ingest.py --rebuild`, a server restarted empty) is
        reopened once instead of failing every request until the app restarts."""
        for attempt in (1, 2):
            collection = self._collection(audience)
            try:
                return op(collection)
            except Exception as exc:
                if attempt == 1 and self._is_missing(exc):
                    log.warning("collection %s was recreated; reopening it", self.name(audience))
                    self._stores.pop(audience, None)
                    continue
                if is_unavailable(exc):
                    raise StoreUnavailable(f"vector store unavailable: {exc}") from exc
                raise
        raise AssertionError("unreachable")

    def ping(self) -> None:
        """Raises StoreUnavailable unless the store answers (the health check)."""
        try:
            self.client.heartbeat()
        except StoreUnavailable:
            raise
        except Exception as exc:
            raise StoreUnavailable(f"vector store unavailable: {exc}") from exc

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
            except StoreUnavailable:
                raise
            except Exception as exc:  # chromadb raises several types for a dead server
                raise StoreUnavailable(f"vector store unavailable: {exc}") from exc
            built_with = (collection.metadata or {}).get("embedding_model")
            if built_with and built_with != self.embeddings.model_id:
                raise IndexModelMismatch(
                    f"the index in {self.name(audience)} was built with {built_with}, but the configured "
                    f"embedder is {self.embeddings.model_id}: run `python ingest.py --rebuild` to rebuild it"
                )
            try:
                self._stores[audience] = Chroma(
                    collection_name=self.name(audience), embedding_function=self.embeddings, client=self.client
                )
            except Exception as exc:
                if is_unavailable(exc):
                    raise StoreUnavailable(f"vector store unavailable: {exc}") from exc
                raise
        return self._stores[audience]

    def _collection(self, audience: str):
        return self.langchain(audience)._collection

    def revision(self, audience: str) -> str:
        """Changes whenever ingestion changes the collection; lexical indexes rebuild on it."""
        try:
            collection = self.client.get_collection(self.name(audience))
            return f"{(collection.metadata or {}).get('revision', '0')}:{collection.count()}"
        except StoreUnavailable:
            raise
        except Exception as exc:
            if self._is_missing(exc):
                return "missing"
            raise StoreUnavailable(f"vector store unavailable: {exc}") from exc

    @staticmethod
    def _is_missing(exc: Exception) -> bool:
        return "does not exist" in str(exc) or "not found" in str(exc).lower()

    def bump_revision(self, audience: str, writing: bool = False) -> None:
        """New revision; `writing=True` before an ingest writes, False when it has finished (see ingestion)."""
        def bump(collection) -> None:
            current = self.client.get_collection(self.name(audience)).metadata or {}  # not our stale copy
            meta = {k: v for k, v in current.items() if not k.startswith("hnsw:")}
            meta["revision"] = str(time.time_ns())
            meta["writing"] = "1" if writing else "0"
            collection.modify(metadata=meta)

        self._call(audience, bump)

    def interrupted(self, audience: str) -> bool:
        """An ingest began writing here and never finished (killed, crashed, server lost)."""
        meta = self._call(audience, lambda c: self.client.get_collection(self.name(audience)).metadata or {})
        return meta.get("writing") == "1"

    def _get_all(self, audience: str, where: dict | None, include: list[str]) -> dict[str, list]:
        """Every matching chunk, a page at a time: one `get` of ~50k chunks fails inside Chroma's SQLite
        ("too many SQL variables"), and a page also bounds each response from a Chroma server."""
        out: dict[str, list] = {"ids": [], **{key: [] for key in include}}
        offset = 0
        while True:
            got = self._call(audience, lambda c: c.get(where=where, include=include, limit=GET_PAGE, offset=offset))
            for key in out:
                out[key] += got[key] or []
            if len(got["ids"]) < GET_PAGE:
                return out
            offset += GET_PAGE

    def records(self, audience: str, where: dict | None = None) -> list[Record]:
        got = self._get_all(audience, where, ["documents", "metadatas"])
        return [Record(i, d or "", m or {}) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]

    def source_state(self, audience: str) -> dict[str, dict]:
        """Per source file: its stored content hash, expected chunk count and stored chunk ids."""
        got = self._get_all(audience, None, ["metadatas"])
        state: dict[str, dict] = {}
        for chunk_id, meta in zip(got["ids"], got["metadatas"]):
            entry = state.setdefault(meta["source"], {"hashes": set(), "n_chunks": meta.get("n_chunks"), "ids": []})
            entry["hashes"].add(meta.get("file_hash"))
            entry["ids"].append(chunk_id)
        return state

    def add(self, audience: str, ids: list[str], texts: list[str], metadatas: list[dict]) -> None:
        if ids:
            self._call(audience, lambda c: self.langchain(audience).add_texts(texts=texts, metadatas=metadatas, ids=ids))

    def add_vectors(self, audience: str, ids: list[str], texts: list[str], vectors: list[list[float]],
                    metadatas: list[dict], batch: int = 1000) -> None:
        """Upsert chunks whose vectors are already known (the scale benchmark's padding)."""
        for i in range(0, len(ids), batch):
            part = slice(i, i + batch)
            self._call(audience, lambda c: c.upsert(ids=ids[part], documents=texts[part], embeddings=vectors[part],
                                                    metadatas=metadatas[part]))

    def delete(self, audience: str, ids: list[str]) -> None:
        for i in range(0, len(ids), 1000):
            self._call(audience, lambda c: c.delete(ids=ids[i : i + 1000]))

    def dense_search(self, query_vector: list[float], audience: str, k: int) -> list[tuple[Record, float]]:
        """Nearest chunks by cosine similarity (1 - cosine distance)."""
        got = self._call(audience, lambda c: c.query(
            query_embeddings=[query_vector], n_results=k, include=["documents", "metadatas", "distances"]
        ))
        return [
            (Record(i, d or "", m or {}), 1.0 - float(dist))
            for i, d, m, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])
        ]

    def count(self, audience: str) -> int:
        return self._call(audience, lambda c: c.count())

    def reset(self) -> None:
        """Drops both collections (`ingest.py --rebuild`)."""
        for audience in AUDIENCES:
            try:
                self.client.delete_collection(self.name(audience))
            except Exception as exc:
                if is_unavailable(exc):
                    raise StoreUnavailable(f"vector store unavailable: {exc}") from exc
                if not self._is_missing(exc):
                    raise
        self._stores.clear()
