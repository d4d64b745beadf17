"""Hybrid retrieval: dense (Chroma, e5) and lexical (BM25) rankings fused by reciprocal rank fusion.

The citizen path searches the public collection only; the staff collection is opened only
for an authenticated staff request.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal, Protocol

from assistant.lexical import LexicalIndex, document_tokens, query_tokens
from assistant.settings import Settings
from assistant.store import Record, VectorStore

Mode = Literal["hybrid", "dense", "lexical"]


def audiences_for(audience: str) -> tuple[str, ...]:
    """Collections a request may open: staff see public and staff; anyone else public only."""
    return ("public", "staff") if audience == "staff" else ("public",)


@dataclass
class Hit:
    """One retrieved chunk with the evidence behind its rank."""

    record: Record
    score: float = 0.0
    dense: float | None = None
    lexical: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None

    @property
    def meta(self) -> dict:
        return self.record.meta


class Reranker(Protocol):
    """Reorders fused hits; none installs offline here, so the default keeps the fused order."""

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]: ...


class KeepOrder:
    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        return hits


@dataclass
class _LexicalCache:
    revision: str = ""
    index: LexicalIndex | None = None
    records: dict[str, Record] = field(default_factory=dict)


class HybridRetriever:
    """Dense + lexical search over the collections an audience may open."""

    def __init__(self, settings: Settings, store: VectorStore, reranker: Reranker | None = None):
        self.settings = settings
        self.store = store
        self.reranker = reranker or KeepOrder()
        self._lexical: dict[str, _LexicalCache] = {}
        self._lock = threading.Lock()

    def _lexical_index(self, audience: str) -> _LexicalCache:
        """BM25 index of one collection, rebuilt only when ingestion changed the collection."""
        revision = self.store.revision(audience)
        with self._lock:
            cache = self._lexical.get(audience)
            if cache is None or cache.revision != revision:
                records = self.store.records(audience) if revision != "missing" else []
                tokens = [document_tokens(r.text, r.meta.get("lang", "ru")) for r in records]
                cache = _LexicalCache(revision, LexicalIndex([r.chunk_id for r in records], tokens),
                                      {r.chunk_id: r for r in records})
                self._lexical[audience] = cache
            return cache

    def warm(self) -> None:
        """Builds the BM25 indexes now (at start) rather than in the first citizen's request: at 10k
        chunks that takes ~10 s, at 50k about a minute (README "Performance")."""
        for audience in ("public", "staff"):
            self._lexical_index(audience)

    def source_summary(self, roots: list[str], audience: str = "public") -> list[dict]:
        """Per indexed source (a root as `source_key` names it): documents and the oldest date of their texts.

        Read from the records the lexical index already holds, so a health probe costs no store query."""
        groups: dict[str, dict] = {}
        for record in self._lexical_index(audience).records.values():
            path = str(record.meta.get("source", ""))
            root = next((r for r in roots if path == r or path.startswith(r.rstrip("/") + "/")), "other")
            group = groups.setdefault(root, {"docs": set(), "dates": set()})
            group["docs"].add(record.meta.get("doc_id", ""))
            if record.meta.get("effective_date"):
                group["dates"].add(str(record.meta["effective_date"]))
        return [{"source": root, "documents": len(g["docs"]), "oldest_date": min(g["dates"], default=None),
                 "newest_date": max(g["dates"], default=None)}
                for root, g in sorted(groups.items(), key=lambda kv: (kv[0] not in roots, roots.index(kv[0]) if kv[0] in roots else 0))]

    def search(self, query: str, audience: str = "public", k: int | None = None, mode: Mode = "hybrid") -> list[Hit]:
        k = k or self.settings.retrieve_k
        n = max(self.settings.candidate_k, k)
        hits: dict[str, Hit] = {}
        for aud in audiences_for(audience):
            if mode in ("hybrid", "dense"):
                vector = self.store.embeddings.embed_query(query)
                for rank, (record, cosine) in enumerate(self.store.dense_search(vector, aud, n)):
                    hit = hits.setdefault(record.chunk_id, Hit(record))
                    hit.dense, hit.dense_rank = cosine, rank
            if mode in ("hybrid", "lexical"):
                cache = self._lexical_index(aud)
                if cache.index is not None:
                    for rank, (chunk_id, score) in enumerate(cache.index.search(query_tokens(query), n)):
                        hit = hits.setdefault(chunk_id, Hit(cache.records[chunk_id]))
                        hit.lexical, hit.lexical_rank = score, rank
        # Ranks from separate collections are merged by re-sorting each leg's raw scores.
        self._rerank_legs(hits.values())
        for hit in hits.values():
            hit.score = self._fused(hit)
        fused = sorted(hits.values(), key=lambda h: h.score, reverse=True)
        return self.reranker.rerank(query, fused)[:k] if k else fused

    @staticmethod
    def _rerank_legs(hits) -> None:
        hits = list(hits)
        for attr, rank_attr in (("dense", "dense_rank"), ("lexical", "lexical_rank")):
            scored = sorted((h for h in hits if getattr(h, attr) is not None), key=lambda h: getattr(h, attr), reverse=True)
            for rank, h in enumerate(scored):
                setattr(h, rank_attr, rank)

    def _fused(self, hit: Hit) -> float:
        s, c = self.settings, self.settings.rrf_k
        score = 0.0
        if hit.dense_rank is not None:
            score += s.dense_weight / (c + hit.dense_rank + 1)
        if hit.lexical_rank is not None:
            score += s.lexical_weight / (c + hit.lexical_rank + 1)
        return score
