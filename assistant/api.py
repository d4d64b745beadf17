"""HTTP API: thin FastAPI routes over the `Assistant` service."""
from __future__ import annotations

import json
import logging
from typing import Iterator, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, create_model, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.auth import Caller, install_auth, staff_caller
from assistant.composer import document
from assistant.feedback import feedback_router, feedback_store
from assistant.health import health_report
from assistant.limits import install_limits
from assistant.metrics import AssistantMetrics, install_metrics
from assistant.pii import install_log_redaction
from assistant.service import Assistant
from assistant.store import IndexModelMismatch, StoreUnavailable

log = logging.getLogger(__name__)


def _unicode_text(value: str) -> str:
    """A lone surrogate (`"\\ud800"` in JSON) is no text: it would break logging, SQLite and the embedder."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


class HistoryTurn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(..., max_length=4000)

    @field_validator("content")
    @classmethod
    def unicode_only(cls, value: str) -> str:
        return _unicode_text(value)


class AskRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=2000, description="The citizen's question, any of kk/ru/en")
    lang: Literal["kk", "ru", "en"] | None = Field(None, description="Answer language; detected when omitted")
    history: list[HistoryTurn] = Field(default_factory=list, max_length=20, description="Earlier turns, oldest first")
    service: str | None = Field(None, max_length=64, pattern=r"^[0-9A-Za-z_.\-]+$",
                                description="The e-service the citizen chose after a `clarification` (its code)")

    @field_validator("question")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question must not be blank")
        if "\x00" in value:
            raise ValueError("question must be text")
        return _unicode_text(value)


def ask_request_model(max_question_chars: int) -> type[AskRequest]:
    """The request body with the configured question limit (settings `max_question_chars`)."""
    question = Field(..., min_length=1, max_length=max_question_chars, description="The question, any of kk/ru/en")
    return create_model("AskRequest", __base__=AskRequest, question=(str, question))


def _with_body(model: type[BaseModel]):
    """Sets the body model of a route to one built at run time (annotations here are strings)."""
    def wrap(fn):
        fn.__annotations__ = {**fn.__annotations__, "body": model}
        return fn
    return wrap


class ServiceOut(BaseModel):
    code: str
    title: str
    url: str
    score: float


class SourceOut(BaseModel):
    n: int
    title: str
    section: str
    url: str
    doc_id: str
    kind: str = ""  # service, situation, regulation, portal, catalogue
    date: str = ""  # how fresh the quoted text is: a card's check date, an act's edition, the portal crawl


class AskResponse(BaseModel):
    answer: str
    lang: str
    refused: bool
    status: str = Field(..., description="answered | clarification (choose one of `services`) | unanswerable_no_sources "
                                         "| unanswerable_llm | guardrail | error")
    services: list[ServiceOut]
    sources: list[SourceOut]
    generator: str
    fallback: str | None
    label: str
    rephrased_question: str | None
    stopped_by: str = Field("", description="The pipeline step that produced this answer (`finish` when answered)")
    basis: str = Field("", description="What an answer quotes: `card` (a service card or life situation) or `act` "
                                       "(an act's service standard, when no e-service fits)")


class ServiceCardOut(BaseModel):
    code: str
    category: str
    url: str
    title: dict[str, str]
    keywords: dict[str, list[str]]
    card_languages: list[str]


class ErrorOut(BaseModel):
    error: str
    message: str


def _error(status: int, error: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": error, "message": message}, headers=headers)


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _sse(events: Iterator[tuple[str, object]]) -> Iterator[str]:
    """The LLM's tokens as they come, then the final answer; the final event's text replaces the tokens
    (after a failed verification it is the composer's answer, with `fallback` saying why)."""
    try:
        for kind, value in events:
            yield _event("token", {"text": value}) if kind == "token" else _event("final", value.public_dict())
    except StoreUnavailable as exc:
        log.error("store unavailable during a stream: %s", exc)
        yield _event("error", {"error": "store_unavailable", "message": "The knowledge base is temporarily "
                               "unavailable. Please try again shortly or call 1414."})
    except Exception:  # the headers are gone: an error event is all a client can still get
        log.exception("answer stream failed")
        yield _event("error", {"error": "internal_error", "message": "The answer could not be completed. "
                               "Please try again or call 1414."})


def create_api(assistant: Assistant) -> FastAPI:
    """The FastAPI app; `app.py` mounts the web UI on it."""
    app = FastAPI(title="Qazaq eGov Assistant", version="0.1.0",
                  description="Answers about egov.kz e-services in Kazakh, Russian and English, with citations.")
    app.state.assistant = assistant
    install_log_redaction()
    install_auth(app)
    install_limits(app, assistant.settings)
    Ask = ask_request_model(assistant.settings.max_question_chars)
    caller = staff_caller(assistant.staff)
    limited = {401: {"model": ErrorOut}, 413: {"model": ErrorOut}, 422: {"model": ErrorOut}, 429: {"model": ErrorOut}}
    metrics = AssistantMetrics()
    install_metrics(app, metrics)
    assistant.answer_listeners.append(metrics.observe_answer)
    feedback = feedback_store(assistant.settings)
    feedback.listeners.append(lambda rating: metrics.feedback.labels(rating).inc())
    app.include_router(feedback_router(feedback))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", []) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else first.get("msg", "invalid request")
        return _error(422, "invalid_request", message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return _error(exc.status_code, "http_error", str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(StoreUnavailable)
    async def store_down(request: Request, exc: StoreUnavailable):
        log.error("store unavailable: %s", exc)
        metrics.store_errors.inc()
        return _error(503, "store_unavailable", "The knowledge base is temporarily unavailable. Please try again "
                      "shortly or call 1414.", {"Retry-After": "10"})

    @app.exception_handler(IndexModelMismatch)
    async def wrong_index(request: Request, exc: IndexModelMismatch):
        return _error(503, "index_mismatch", str(exc))

    def unknown_service(body: AskRequest) -> JSONResponse | None:
        """A clarification's choice must be a catalogue code: 422 before any work, as for other bad input."""
        if body.service is None or body.service in assistant.catalogue:
            return None
        return _error(422, "invalid_request", f"service: no e-service with code {body.service!r} in the catalogue")

    @app.post("/api/ask", response_model=AskResponse, responses={**limited, 503: {"model": ErrorOut}})
    @_with_body(Ask)
    def ask(body: AskRequest, who: Caller = Depends(caller)):
        if (bad := unknown_service(body)) is not None:
            return bad
        answer = assistant.ask(body.question, lang=body.lang, history=[t.model_dump() for t in body.history],
                               audience=who.audience, staff=who.staff, channel="api", service=body.service)
        return answer.public_dict()

    @app.post("/api/ask/stream", response_class=StreamingResponse, responses={
        200: {"content": {"text/event-stream": {}},
              "description": "Server-Sent Events: `token` {text}… then `final` (the /api/ask body) or `error`"},
        **limited})
    @_with_body(Ask)
    def ask_stream(body: AskRequest, who: Caller = Depends(caller)):
        if (bad := unknown_service(body)) is not None:
            return bad
        events = assistant.stream(body.question, lang=body.lang, history=[t.model_dump() for t in body.history],
                                  audience=who.audience, staff=who.staff, channel="api", service=body.service)
        return StreamingResponse(_sse(events), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/services/{code}", response_model=ServiceCardOut, responses={404: {"model": ErrorOut}})
    def service(code: str):
        entry = assistant.catalogue.get(code)
        if entry is None:
            return _error(404, "not_found", f"no e-service with code {code!r} in the catalogue")
        langs = [lang for lang in ("kk", "ru", "en") if document(assistant.store, f"{code}-{lang}")]
        return {"code": entry.code, "category": entry.category, "url": entry.url, "title": entry.title,
                "keywords": entry.keywords, "card_languages": langs}

    @app.get("/api/health")
    def health():
        status, body = health_report(assistant)
        return JSONResponse(status_code=status, content=body)

    return app
