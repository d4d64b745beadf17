"""Service-level routing evidence from labelled examples: the question's nearest examples in the embedder's space.

Chunks say what a service *is*; citizens say what they *want* ("бумажка что я не сидел"). Labelled
examples — every service's names (catalogue titles and keywords in kk/ru/en, the portal's Kazakh titles,
descriptions and keywords) and the labelled questions of `ASSISTANT_ROUTING_EXAMPLES` (the dev split) —
are embedded once as passages (so the on-disk vector cache keeps them) and a question's query vector
scores each service by its nearest examples.

A nearest-neighbour leg rather than a trained classifier: it keeps no fitted weight matrix in the
repository, a new example routes at once, and while the router is fitted a dev question can leave its own
example out (`exclude`), so the ranker learns what the leg is worth on questions it has not seen.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.corpus import Catalogue, jsonl_objects
from assistant.service_index import load_portal_pages

log = logging.getLogger(__name__)

NEIGHBOURS = 10  # the votes of the nearest examples: a service many near examples share is likelier


@dataclass
class ExampleEvidence:
    """What the nearest examples say about one service for one question."""

    cosine: float  # the best cosine of the service's examples
    rank: int  # the service's place by that cosine
    votes: float  # share of the nearest NEIGHBOURS examples that are the service's


def example_texts(catalogue: Catalogue, portal_pages: Path | None, questions: Path | None) -> list[tuple[str, str, str]]:
    """(code, text, example id) for every name and labelled question; names have the id "" (never left out)."""
    out: list[tuple[str, str, str]] = []
    for code, entry in catalogue.by_code.items():
        out += [(code, title, "") for title in entry.title.values()]
        out += [(code, word, "") for words in entry.keywords.values() for word in words]
    for page in load_portal_pages(portal_pages):
        if page["code"] in catalogue:
            texts = [page.get("title_kk"), page.get("description_kk"), *(page.get("keywords_kk") or [])]
            out += [(page["code"], str(t), "") for t in texts if t]
    for row in labelled_questions(questions):
        out += [(code, row["question"], row["id"]) for code in row["expected_services"] if code in catalogue]
    seen: set[tuple[str, str, str]] = set()
    return [e for e in out if e[1].strip() and not (e in seen or seen.add(e))]


def labelled_questions(path: Path | None) -> list[dict]:
    """Rows of a JSONL question set that name the services they expect (refusal rows have none); a follow-up is
    left out, since it means nothing without its history."""
    return [{"id": str(row.get("id", n)), "question": str(row["question"]),
             "expected_services": list(row["expected_services"])}
            for n, row in enumerate(jsonl_objects(path), 1)
            if row.get("expected_services") and row.get("question") and not row.get("history")]


class ExampleIndex:
    """Unit vectors of every example, grouped by service, searched by one matrix product."""

    def __init__(self, codes: list[str], ids: list[str], vectors: np.ndarray, embeddings: Embeddings):
        self.embeddings = embeddings
        order = np.argsort(np.array(codes), kind="stable")  # examples of one service side by side
        self.codes = [codes[i] for i in order]
        self.ids = np.array([ids[i] for i in order])
        self.vectors = vectors[order]
        self.services, self.starts = np.unique(np.array(self.codes), return_index=True)

    @classmethod
    def build(cls, catalogue: Catalogue, embeddings: Embeddings, portal_pages: Path | None = None,
              questions: Path | None = None) -> "ExampleIndex":
        examples = example_texts(catalogue, portal_pages, questions)
        vectors = np.asarray(embeddings.embed_documents([text for _, text, _ in examples]), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
        log.info("example index: %d examples of %d services", len(examples), len({c for c, _, _ in examples}))
        return cls([c for c, _, _ in examples], [i for _, _, i in examples], vectors, embeddings)

    def evidence(self, question: str, top: int = 8, exclude: str | None = None) -> dict[str, ExampleEvidence]:
        """The best `top` services by their nearest example; `exclude` leaves out the examples of that question id."""
        query = np.asarray(self.embeddings.embed_query(question), dtype=np.float32)
        sims = self.vectors @ (query / (np.linalg.norm(query) + 1e-12))
        if exclude:
            sims = np.where(self.ids == exclude, -1.0, sims)
        best = np.maximum.reduceat(sims, self.starts)
        nearest = np.argsort(-sims)[:NEIGHBOURS]
        votes: dict[str, float] = {}
        for i in nearest:
            votes[self.codes[i]] = votes.get(self.codes[i], 0.0) + 1.0 / NEIGHBOURS
        out: dict[str, ExampleEvidence] = {}
        for rank, j in enumerate(np.argsort(-best)[:top]):
            code = str(self.services[j])
            out[code] = ExampleEvidence(float(best[j]), rank, votes.get(code, 0.0))
        return out

    def cosine(self, question: str, code: str, exclude: str | None = None) -> float:
        """The best cosine of one service's examples (for a candidate another leg found)."""
        j = int(np.searchsorted(self.services, code))
        if j >= len(self.services) or self.services[j] != code:
            return 0.0
        end = self.starts[j + 1] if j + 1 < len(self.starts) else len(self.codes)
        query = np.asarray(self.embeddings.embed_query(question), dtype=np.float32)
        sims = self.vectors[self.starts[j]:end] @ (query / (np.linalg.norm(query) + 1e-12))
        if exclude:
            sims = np.where(self.ids[self.starts[j]:end] == exclude, -1.0, sims)
        return float(sims.max())
