"""One answer = one pipeline of small named steps over a shared context (after GOV.UK Chat).

    redact_pii → detect_language → label_question → rephrase_followup → retrieve → screen_sources
      → answer_personal_account → answer_staff_procedure → route → answer_from_acts → compose → generate
      → check_citations → screen_answer → drop_staff_sources → finish

A step that must stop the flow sets `ctx.answer` (a refusal, a clarification or a guardrail reply); the
runner stops there and records the step in `answer.stopped_by`. The normal answer is built by `finish`.
An exception in any step becomes an `error` answer (logged with its step), never an unhandled 500.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from assistant.acts import ActAnswerer
from assistant.answer import Answer, Status
from assistant.citations import check_citations
from assistant.composer import CardComposer, Draft
from assistant.corpus import Catalogue
from assistant.guardrails import (PERSONAL_ACCOUNT_MIN_CONFIDENCE, Label, guardrail_answer, label_question,
                                  screen_hits, screen_text)
from assistant.language import detect_language
from assistant.messages import CLARIFY, ERROR_REPLY, PRIVACY_NOTICE
from assistant.pii import redact
from assistant.procedures import compose_procedure, procedure_hit
from assistant.retrieval import Hit, HybridRetriever
from assistant.routing import RoutedService, Router
from assistant.settings import Settings
from assistant.store import IndexModelMismatch, StoreUnavailable
from assistant.verification import verify_answer

if TYPE_CHECKING:
    from assistant.generators import LLMGenerator

log = logging.getLogger(__name__)
_FOLLOWUP_START = re.compile(r"^(а|и|ещё|еще|также|тогда|and|also|what about|ал|ал енді|енді|сонда)\b", re.I)
_FOLLOWUP_WORDS = re.compile(r"\b(это|этого|эту|этом|неё|него|тоже|тогда|it|that|this|too|instead|бұл|оны|оған|осы|ол|сонда)\b",
                             re.I)


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
    on_token: Callable[[str], None] | None = None  # streaming: the LLM's tokens as they come
    pii: list[str] = field(default_factory=list)  # kinds of personal data removed from the question
    chosen_service: str | None = None  # the citizen picked this service (a clarification's choice)
    confidence: float | None = None  # the router's P(the top service is right)
    candidates_declined: list[RoutedService] = field(default_factory=list)  # hints for a refusal
    choices: list[RoutedService] = field(default_factory=list)  # a clarification's services, unless an act answers


Step = Callable[[Context], None]


def looks_like_followup(question: str) -> bool:
    words = question.split()
    return bool(_FOLLOWUP_START.match(question.strip()) or (_FOLLOWUP_WORDS.search(question) and len(words) <= 8)
                or len(words) <= 3)


class AnswerPipeline:
    """The steps, readable in one place; the API, the UI and the evaluation all call `run`."""

    def __init__(self, settings: Settings, retriever: HybridRetriever, catalogue: Catalogue, composer: CardComposer,
                 router: Router, generator: LLMGenerator | None = None):
        self.settings = settings
        self.retriever = retriever
        self.catalogue = catalogue
        self.router = router
        self.composer = composer
        self.generator = generator
        self.acts = ActAnswerer(composer.store, catalogue)
        self.steps: list[tuple[str, Step]] = [
            ("redact_pii", self.redact_pii),
            ("detect_language", self.detect_language),
            ("label_question", self.label_question),
            ("rephrase_followup", self.rephrase_followup),
            ("retrieve", self.retrieve),
            ("screen_sources", self.screen_sources),
            ("answer_personal_account", self.answer_personal_account),
            ("answer_staff_procedure", self.answer_staff_procedure),
            ("route", self.route),
            ("answer_from_acts", self.answer_from_acts),
            ("compose", self.compose),
            ("generate", self.generate),
            ("check_citations", self.check_citations),
            ("screen_answer", self.screen_answer),
            ("drop_staff_sources", self.drop_staff_sources),
            ("finish", self.finish),
        ]

    def run(self, ctx: Context) -> Answer:
        started = time.perf_counter()
        stopped_by = "finish"
        for name, step in self.steps:
            t0 = time.perf_counter()
            try:
                step(ctx)
            except (StoreUnavailable, IndexModelMismatch):
                raise  # the API answers these with 503 and its own message
            except Exception:
                log.exception("pipeline step %s failed", name)
                ctx.answer = self._error(ctx)
            ctx.timings[name] = round((time.perf_counter() - t0) * 1000, 2)
            if ctx.answer is not None:
                stopped_by = name
                break
        answer = ctx.answer
        if answer is None:  # a step list without `finish`: a programming error, still an answer for the citizen
            log.error("no step set an answer")
            answer = self._error(ctx)
        answer.stopped_by = stopped_by
        answer.label = ctx.label
        if ctx.pii:
            answer.answer = f"{PRIVACY_NOTICE[answer.lang]}\n\n{answer.answer}"
        log.info("answer lang=%s audience=%s label=%s status=%s pii=%s question=%r", answer.lang, ctx.audience,
                 ctx.label, answer.status.value, ctx.pii, ctx.question)  # redacted by the first step
        answer.metrics = {"timings_ms": ctx.timings, "total_ms": round((time.perf_counter() - started) * 1000, 2),
                          "candidates": [c.__dict__ for c in ctx.candidates], "confidence": ctx.confidence}
        if ctx.search_query and ctx.search_query != ctx.question:
            answer.rephrased_question = ctx.search_query
        return answer

    # --- steps -----------------------------------------------------------------------

    def redact_pii(self, ctx: Context) -> None:
        """Personal data goes no further than this: not to logs, the index, an LLM or the audit."""
        redaction = redact(ctx.question, neutral=True)
        ctx.question, ctx.pii = redaction.text, redaction.kinds
        ctx.history = [Turn(t.role, redact(t.content, neutral=True).text) for t in ctx.history]

    def label_question(self, ctx: Context) -> None:
        """Greetings, thanks, out-of-scope, harmful and injection get a fixed reply before any retrieval."""
        ctx.label = label_question(ctx.question, ctx.audience).value
        if ctx.label not in (Label.GENUINE, Label.PERSONAL_ACCOUNT):
            ctx.answer = guardrail_answer(ctx.label, ctx.lang)

    def answer_personal_account(self, ctx: Context) -> None:
        """The citizen's own data is in their egov.kz account: say where, with the services found."""
        if ctx.label == Label.PERSONAL_ACCOUNT:
            decision = self.router.decide(ctx.hits, ctx.search_query, ctx.lang)
            services = decision.services if decision.action != "decline" else []
            ctx.answer = guardrail_answer(ctx.label, ctx.lang,
                                          [s for s in services if s.score >= PERSONAL_ACCOUNT_MIN_CONFIDENCE])

    def screen_sources(self, ctx: Context) -> None:
        """A chunk that carries instructions to the assistant is never quoted or shown to an LLM."""
        ctx.hits, dropped = screen_hits(ctx.hits)
        if dropped:
            log.warning("dropped retrieved chunks that look like injected instructions: %s", dropped)

    def answer_staff_procedure(self, ctx: Context) -> None:
        """Staff only: a question about an internal procedure is answered from that procedure."""
        hit = procedure_hit(ctx.hits) if ctx.audience == "staff" else None
        if hit is None:
            return
        draft = compose_procedure(self.composer.store, hit, ctx.lang)
        report = check_citations(draft.text, draft.sources)
        if draft.sources and report.ok:
            ctx.draft = draft
            ctx.answer = Answer(draft.text, ctx.lang, False, Status.ANSWERED, [], draft.sources)
        else:
            log.error("staff procedure answer failed its citation check: %s", report.problems)

    def detect_language(self, ctx: Context) -> None:
        ctx.lang = ctx.lang or detect_language(ctx.question)

    def rephrase_followup(self, ctx: Context) -> None:
        """The LLM (when configured) rewrites a follow-up; without one it carries the previous question's topic."""
        ctx.search_query = ctx.question
        previous = [t.content for t in ctx.history if t.role == "user"]
        if previous and looks_like_followup(ctx.question) and self.generator is not None:
            rewritten = self.generator.rephrase(ctx.question, ctx.lang, [(t.role, t.content) for t in ctx.history])
            if rewritten:
                ctx.search_query = rewritten
                return
        if previous and looks_like_followup(ctx.question):
            ctx.search_query = f"{previous[-1]} {ctx.question}"

    def retrieve(self, ctx: Context) -> None:
        ctx.hits = self.retriever.search(ctx.search_query, audience=ctx.audience, k=self.settings.retrieve_k,
                                         mode=self.settings.retrieval_mode)

    def route(self, ctx: Context) -> None:
        """Answer only a confident service; ask when two or three are close; otherwise decline. There is no
        other way past this step: a life situation answers only when its service is the confident match."""
        if ctx.chosen_service and ctx.chosen_service in self.catalogue:
            decision = self.router.chosen(ctx.chosen_service, ctx.lang)
        else:
            decision = self.router.decide(ctx.hits, ctx.search_query, ctx.lang)
        ctx.confidence, ctx.candidates = round(decision.confidence, 4), decision.candidates
        if decision.action == "answer":
            ctx.services = decision.services
        elif decision.action == "clarify":
            ctx.choices = decision.services
        else:
            ctx.candidates_declined = decision.services

    def answer_from_acts(self, ctx: Context) -> None:
        """No e-service is a confident match: an act's service standard that the question names may still answer (a
        passport's term, the documents to emigrate) — before a "which of these?" between services that only come
        close; else the clarification, else decline."""
        if ctx.services:
            return
        ctx.draft = self.acts.answer(ctx.search_query, ctx.lang, ctx.hits)
        if ctx.draft is not None:
            return
        if ctx.choices:
            ctx.answer = self._clarification(ctx, ctx.choices)
        else:
            ctx.answer = self._refusal(ctx, ctx.candidates_declined)

    def compose(self, ctx: Context) -> None:
        if ctx.draft is not None:  # quoted from an act
            return
        ctx.draft = self.composer.compose(ctx.search_query, ctx.lang, ctx.hits, ctx.services)
        if ctx.draft.refused:
            ctx.answer = self._refusal(ctx, ctx.draft.services)

    def generate(self, ctx: Context) -> None:
        """With an LLM: its answer over the same sources, verified, else the composer's draft with the reason."""
        if self.generator is None or ctx.draft.basis == "act":  # an act's points are quoted, never paraphrased
            return
        ctx.draft = self.generator.answer(ctx.search_query, ctx.lang, ctx.hits, ctx.services, ctx.draft, ctx.on_token)
        ctx.timings.update({f"generate.{k}": v for k, v in ctx.draft.metrics.items() if v is not None})
        if ctx.draft.refused:
            ctx.answer = self._refusal(ctx, ctx.draft.services, status=Status.UNANSWERABLE_LLM)
            ctx.answer.generator = ctx.draft.generator

    def check_citations(self, ctx: Context) -> None:
        if ctx.draft.generator != self.composer.name and ctx.draft.fallback is None:
            verdict = verify_answer(ctx.draft.text, ctx.draft.sources, ctx.lang, ctx.search_query)  # again, at the end
            if not verdict.ok:
                log.error("generated answer failed its final check: %s", verdict.problems)
                ctx.answer = self._refusal(ctx, ctx.services, status=Status.ERROR)
            return
        report = check_citations(ctx.draft.text, ctx.draft.sources)
        if not report.ok:
            log.error("composed answer failed its citation check: %s", report.problems)
            ctx.answer = self._refusal(ctx, ctx.services, status=Status.ERROR)

    def screen_answer(self, ctx: Context) -> None:
        """Lines that instruct the assistant (quoted from a poisoned document or written by an LLM) never leave."""
        text, sources, removed = screen_text(ctx.draft.text, ctx.draft.sources)
        if not removed:
            return
        log.warning("removed %d answer lines that look like injected instructions", removed)
        strict = ctx.draft.generator == self.composer.name or ctx.draft.fallback is not None
        if sources and check_citations(text, sources, strict_verbatim=strict).ok:
            ctx.draft.text, ctx.draft.sources = text, sources
        else:
            ctx.answer = self._refusal(ctx, ctx.services)

    def drop_staff_sources(self, ctx: Context) -> None:
        """Defence in depth: no staff chunk leaves on a citizen's answer, whatever happened before."""
        draft = ctx.draft
        if ctx.audience != "staff" and any(s.audience != "public" for s in draft.sources):
            log.critical("ALERT: a staff source reached the citizen path and was dropped: %s",
                         [s.doc_id for s in draft.sources if s.audience != "public"])
            ctx.answer = self._refusal(ctx, [])

    def finish(self, ctx: Context) -> None:
        """The normal answer: the checked draft with its services and sources."""
        draft = ctx.draft
        ctx.answer = Answer(draft.text, ctx.lang, False, Status.ANSWERED, draft.services, draft.sources,
                            generator=draft.generator, fallback=draft.fallback, basis=draft.basis)

    @staticmethod
    def _error(ctx: Context) -> Answer:
        """What the citizen gets when something inside failed: the 1414 contact, in their language if known."""
        lang = ctx.lang or "ru"
        return Answer(ERROR_REPLY[lang], lang, True, Status.ERROR)

    def _clarification(self, ctx: Context, choices: list[RoutedService]) -> Answer:
        """One short question in the citizen's language; the choices go out as `services` (buttons in the UI)."""
        lines = [CLARIFY[ctx.lang], ""] + [f"{i}. {c.title}" for i, c in enumerate(choices, 1)]
        return Answer("\n".join(lines), ctx.lang, False, Status.CLARIFICATION, choices, [])

    def _refusal(self, ctx: Context, hints: list[RoutedService], status: Status = Status.UNANSWERABLE_NO_SOURCES) -> Answer:
        draft = self.composer.refuse(ctx.lang, hints)
        return Answer(draft.text, ctx.lang, True, status, hints, [])
