"""Answers for civil servants from the staff procedures (SOPs), quoted with citations like the cards.

Only a staff request reaches this: the citizen path never retrieves a staff chunk at all.
"""
from __future__ import annotations

from assistant.composer import Draft, document_in_language, quote_document
from assistant.retrieval import Hit
from assistant.store import VectorStore

# A procedure answers when it is the best hit or close to it (public cards may outrank it slightly).
PROCEDURE_MARGIN = 0.9


def procedure_hit(hits: list[Hit]) -> Hit | None:
    """The staff procedure the question is about: one that ranks at or near the top, or one that a retrieval leg
    ranks first anywhere among the hits. With a card for every service, a clerk's question ("как оператору открыть
    смену") shares words with many citizen cards, which can outrank the procedure the dense leg puts first."""
    if not hits:
        return None
    top = hits[0].score
    for i, hit in enumerate(hits):
        if hit.meta.get("audience") != "staff":
            continue
        if (i < 3 and hit.score >= PROCEDURE_MARGIN * top) or hit.dense_rank == 0 or hit.lexical_rank == 0:
            return hit
    return None


def compose_procedure(store: VectorStore, hit: Hit, lang: str) -> Draft:
    """The whole procedure in the question's language when it exists (else Russian, English), every line cited."""
    doc_id = hit.meta.get("doc_id", "")
    base = doc_id.rsplit("-", 1)[0]
    records = document_in_language(store, base, lang, audience="staff") or [hit.record]
    text, sources = quote_document(records)
    return Draft(text, sources)
