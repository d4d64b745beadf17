"""The assistant as a plain service object: what the API, the UI and the evaluation call."""
from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Callable, Iterator

from assistant.answer import Answer
from assistant.audit import AuditLog
from assistant.components import build_generator, build_router, build_store
from assistant.composer import CardComposer
from assistant.corpus import Catalogue
from assistant.ingestion import IngestReport, Ingestor
from assistant.pipeline import AnswerPipeline, Context, Turn
from assistant.retrieval import HybridRetriever
from assistant.routing import Router
from assistant.settings import Settings
from assistant.staff import StaffRegistry
from assistant.store import VectorStore

log = logging.getLogger(__name__)


class Assistant:
    """Wires store → retriever → composer → pipeline from one settings object."""

    def __init__(self, settings: Settings, store: VectorStore | None = None, router: Router | None = None):
        self.settings = settings
        self.store = store or build_store(settings)
        self.catalogue = Catalogue.load(settings.corpus_dir)
        self.retriever = HybridRetriever(settings, self.store)
        self.composer = CardComposer(self.store, self.catalogue)
        self.generator = build_generator(settings)
        self.router = router or build_router(settings, self.catalogue, self.store.embeddings)
        self.pipeline = AnswerPipeline(settings, self.retriever, self.catalogue, self.composer, self.router,
                                       self.generator)
        self.answer_listeners: list[Callable[[Answer], None]] = []  # e.g. the Prometheus metrics
        self.staff = StaffRegistry.from_settings(settings)  # who may ask as staff (hashed tokens)
        self.audit = AuditLog.from_settings(settings)  # every staff query, append-only

    def ingest(self, paths: list[Path] | None = None, rebuild: bool = False, progress: bool = True) -> IngestReport:
        paths = paths or self.settings.sources()
        report = Ingestor(self.settings, self.store).run(paths, rebuild=rebuild, progress=progress)
        for path, reason in report.errors:
            log.warning("skipped %s: %s", path, reason)
        log.info("ingest: %s", report.summary())
        return report

    def ask(self, question: str, lang: str | None = None, history: list[dict] | None = None,
            audience: str = "public", on_token: Callable[[str], None] | None = None, staff: str | None = None,
            channel: str = "internal", service: str | None = None) -> Answer:
        """`staff` names the signed-in civil servant; a staff query is audited before its answer is returned.
        `service` is the citizen's choice after a clarification: the answer is about that service."""
        turns = [Turn(t["role"], t["content"]) for t in (history or [])][-self.settings.max_history_turns:]
        answer = self.pipeline.run(Context(question=question.strip(), lang=lang, history=turns, audience=audience,
                                           on_token=on_token, chosen_service=service))
        if audience == "staff":
            self.audit.record(staff or "(unnamed)", question, [s.doc_id for s in answer.sources], channel=channel,
                              lang=answer.lang, label=answer.label, status=answer.status.value)
        self.notify(answer)
        return answer

    def notify(self, answer: Answer) -> None:
        """Tells the listeners about an answer; a failing listener never costs the citizen the answer."""
        for listener in self.answer_listeners:
            try:
                listener(answer)
            except Exception:
                log.exception("answer listener failed")

    def stream(self, question: str, lang: str | None = None, history: list[dict] | None = None,
               audience: str = "public", staff: str | None = None, channel: str = "internal",
               service: str | None = None) -> Iterator[tuple[str, object]]:
        """("token", text)… as the LLM writes, then ("final", Answer); the final answer is what counts
        (after a failed verification it is the composer's). A pipeline error is raised here."""
        events: queue.Queue = queue.Queue()

        def work():
            try:
                answer = self.ask(question, lang, history, audience, on_token=lambda t: events.put(("token", t)),
                                  staff=staff, channel=channel, service=service)
                events.put(("final", answer))
            except BaseException as exc:  # handed to the consumer, which raises it
                events.put(("error", exc))

        threading.Thread(target=work, name="answer-stream", daemon=True).start()
        while True:
            kind, value = events.get()
            if kind == "error":
                raise value
            yield kind, value
            if kind == "final":
                return
