"""One answer = one pipeline of small named steps over a shared context (after GOV.UK Chat).

    detect_language → rephrase_followup → retrieve → route → compose → check_citations → drop_staff_sources

A step that must stop the flow sets `ctx.answer` (a refusal or a guardrail reply); the runner stops.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Callable

from assistant.answer import Answer, Source, Status
from assistant.citations import check_citations
from assistant.composer import CardComposer, Draft
from assistant.corpus import Catalogue
from assistant.language import detect_language
from assistant.retrieval import Hit, HybridRetriever
from assistant.routing import RoutedService, route_services
from assistant.settings import Settings

log = logging.getLogger(__name__)
_FOLLOWUP_START = re.compile(r"^(а|и|ещё|еще|также|тогда|and|also|what about|ал|ал енді|енді|сонда)\b", re.I)
_FOLLOWUP_WORDS = re.compile(r"\b(это|этого|эту|этом|неё|него|it|that|this|бұл|оны|оған|осы)\b", re.I)


@dataclass
class Turn:
    role: str
    content: str


@dataclass
class Context:
    """Everything one request accumulates on its way through the steps."""

    question: str
    lang: str | None = None
    history: list[Turn] = field(default_factory=list)
    audience: str = "public"
    search_query: str = ""
    hits: list[Hit] = field(default_factory=list)
    services: list[RoutedService] = field(default_factory=list)
    candidates: list[RoutedService] = field(default_factory=list)
    draft: Draft | None = None
    answer: Answer | None = None
    label: str = "genuine"
    timings: dict[str, float] = field(default_factory=dict)


Step = Callable[[Context], None]


def looks_like_followup(question: str) -> bool:
    words = question.split()
    return bool(_FOLLOWUP_START.match(question.strip()) or (_FOLLOWUP_WORDS.search(question) and len(words) <= 8)
                or len(words) <= 3)


class AnswerPipeline:
    """The steps, readable in one place; the API, the UI and the evaluation all call `run`."""

    def __init__(self, settings: Settings, retriever: HybridRetriever, catalogue: Catalogue, composer: CardComposer):
        self.settings = settings
        self.retriever = retriever
        self.catalogue = catalogue
        self.composer = composer
        self.steps: list[tuple[str, Step]] = [
            ("detect_language", self.detect_language),
            ("rephrase_followup", self.rephrase_followup),
            ("retrieve", self.retrieve),
            ("route", self.route),
            ("compose", self.compose),
            ("check_citations", self.check_citations),
            ("drop_staff_sources", self.drop_staff_sources),
        ]

    def run(self, ctx: Context) -> Answer:
        started = time.perf_counter()
        for name, step in self.steps:
            t0 = time.perf_counter()
            step(ctx)
            ctx.timings[name] = round((time.perf_counter() - t0) * 1000, 2)
            if ctx.answer is not None:
                break
        answer = ctx.answer
        assert answer is not None, "the last step always sets an answer"
        answer.label = ctx.label
        answer.metrics = {"timings_ms": ctx.timings, "total_ms": round((time.perf_counter() - started) * 1000, 2),
                          "candidates": [c.__dict__ for c in ctx.candidates]}
        if ctx.search_query and ctx.search_query != ctx.question:
            answer.rephrased_question = ctx.search_query
        return answer

    # --- steps -----------------------------------------------------------------------

    def detect_language(self, ctx: Context) -> None:
        ctx.lang = ctx.lang or detect_language(ctx.question)

    def rephrase_followup(self, ctx: Context) -> None:
        """Without an LLM a follow-up carries the previous question's topic along."""
        ctx.search_query = ctx.question
        previous = [t.content for t in ctx.history if t.role == "user"]
        if previous and looks_like_followup(ctx.question):
            ctx.search_query = f"{previous[-1]} {ctx.question}"

    def retrieve(self, ctx: Context) -> None:
        ctx.hits = self.retriever.search(ctx.search_query, audience=ctx.audience, k=self.settings.retrieve_k,
                                         mode=self.settings.retrieval_mode)

    def route(self, ctx: Context) -> None:
        ctx.services, ctx.candidates = route_services(
            ctx.hits, self.catalogue, ctx.lang, self.settings.route_top_n, self.settings.route_threshold
        )
        if not ctx.services or ctx.services[0].score < self.settings.answer_threshold:
            hints = [c for c in ctx.candidates if c.score >= self.settings.route_threshold / 2]
            ctx.answer = self._refusal(ctx, hints)

    def compose(self, ctx: Context) -> None:
        ctx.draft = self.composer.compose(ctx.search_query, ctx.lang, ctx.hits, ctx.services)
        if ctx.draft.refused:
            ctx.answer = self._refusal(ctx, ctx.draft.services)

    def check_citations(self, ctx: Context) -> None:
        report = check_citations(ctx.draft.text, ctx.draft.sources)
        if not report.ok:
            log.error("composed answer failed its citation check: %s", report.problems)
            ctx.answer = self._refusal(ctx, ctx.services, status=Status.ERROR)

    def drop_staff_sources(self, ctx: Context) -> None:
        """Defence in depth: no staff chunk leaves on a citizen's answer, whatever happened before."""
        draft = ctx.draft
        if ctx.audience != "staff" and any(s.audience != "public" for s in draft.sources):
            log.critical("ALERT: a staff source reached the citizen path and was dropped: %s",
                         [s.doc_id for s in draft.sources if s.audience != "public"])
            ctx.answer = self._refusal(ctx, [])
            return
        ctx.answer = Answer(draft.text, ctx.lang, False, Status.ANSWERED, draft.services, draft.sources)

    def _refusal(self, ctx: Context, hints: list[RoutedService], status: Status = Status.UNANSWERABLE_NO_SOURCES) -> Answer:
        draft = self.composer.refuse(ctx.lang, hints)
        return Answer(draft.text, ctx.lang, True, status, hints, [])
