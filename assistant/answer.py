"""The answer record: what the citizen gets and what evaluation and analytics read."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum

from assistant.routing import RoutedService
from assistant.store import Record


class Status(str, Enum):
    """Closed list of outcomes (as GOV.UK Chat keeps one)."""

    ANSWERED = "answered"
    UNANSWERABLE_NO_SOURCES = "unanswerable_no_sources"
    UNANSWERABLE_LLM = "unanswerable_llm"  # the sources were found, but the model found no answer in them
    CLARIFICATION = "clarification"  # two or three services are close: the citizen is asked which one
    GUARDRAIL = "guardrail"
    ERROR = "error"


@dataclass
class Source:
    n: int
    title: str
    section: str
    url: str
    doc_id: str
    text: str = field(repr=False, default="")
    audience: str = "public"
    kind: str = ""
    date: str = ""  # a card's check date, an act's edition, the portal crawl: how fresh the quoted text is

    def public_dict(self) -> dict:
        return {"n": self.n, "title": self.title, "section": self.section, "url": self.url, "doc_id": self.doc_id,
                "kind": self.kind, "date": self.date}

    @classmethod
    def from_record(cls, n: int, record: Record) -> "Source":
        m = record.meta
        return cls(n, m.get("title", ""), m.get("section", ""), m.get("url", ""), m.get("doc_id", ""), record.text,
                   m.get("audience", "public"), m.get("kind", ""), str(m.get("effective_date", "") or ""))


@dataclass
class Answer:
    answer: str
    lang: str
    refused: bool
    status: Status
    services: list[RoutedService] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    generator: str = "composer"
    fallback: str | None = None
    label: str = "genuine"
    rephrased_question: str | None = None
    metrics: dict = field(default_factory=dict)
    stopped_by: str = ""  # the pipeline step that produced this answer (`finish` for a normal answer)
    basis: str = ""  # what an answer quotes: "card" (a service card or life situation) or "act" (an act's standard)

    def public_dict(self) -> dict:
        return {
            "answer": self.answer,
            "lang": self.lang,
            "refused": self.refused,
            "status": self.status.value,
            "services": [asdict(s) for s in self.services],
            "sources": [s.public_dict() for s in self.sources],
            "generator": self.generator,
            "fallback": self.fallback,
            "label": self.label,
            "rephrased_question": self.rephrased_question,
            "stopped_by": self.stopped_by,
            "basis": self.basis,
        }
