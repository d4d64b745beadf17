"""The assistant as a plain service object: what the API, the UI and the evaluation call."""
from __future__ import annotations

import logging
from pathlib import Path

from assistant.answer import Answer
from assistant.components import build_store
from assistant.composer import CardComposer
from assistant.corpus import Catalogue
from assistant.ingestion import IngestReport, Ingestor
from assistant.pipeline import AnswerPipeline, Context, Turn
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings
from assistant.store import VectorStore

log = logging.getLogger(__name__)


class Assistant:
    """Wires store → retriever → composer → pipeline from one settings object."""

    def __init__(self, settings: Settings, store: VectorStore | None = None):
        self.settings = settings
        self.store = store or build_store(settings)
        self.catalogue = Catalogue.load(settings.corpus_dir)
        self.retriever = HybridRetriever(settings, self.store)
        self.composer = CardComposer(self.store, self.catalogue)
        self.pipeline = AnswerPipeline(settings, self.retriever, self.catalogue, self.composer)

    def ingest(self, paths: list[Path] | None = None, rebuild: bool = False, progress: bool = True) -> IngestReport:
        paths = paths or [self.settings.corpus_dir, *self.settings.extra_sources]
        report = Ingestor(self.settings, self.store).run(paths, rebuild=rebuild, progress=progress)
        for path, reason in report.errors:
            log.warning("skipped %s: %s", path, reason)
        log.info("ingest: %s", report.summary())
        return report

    def ask(self, question: str, lang: str | None = None, history: list[dict] | None = None,
            audience: str = "public") -> Answer:
        turns = [Turn(t["role"], t["content"]) for t in (history or [])][-self.settings.max_history_turns:]
        return self.pipeline.run(Context(question=question.strip(), lang=lang, history=turns, audience=audience))
