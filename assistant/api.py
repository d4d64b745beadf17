"""HTTP API: thin FastAPI routes over the `Assistant` service."""
from __future__ import annotations

import logging
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.service import Assistant
from assistant.store import IndexModelMismatch, StoreUnavailable

log = logging.getLogger(__name__)


class HistoryTurn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(..., max_length=4000)


class AskRequest(BaseModel):
    question: str = Field(..., min_length=1, max_length=2000, description="The citizen's question, any of kk/ru/en")
    lang: Literal["kk", "ru", "en"] | None = Field(None, description="Answer language; detected when omitted")
    history: list[HistoryTurn] = Field(default_factory=list, max_length=20, description="Earlier turns, oldest first")

    @field_validator("question")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question must not be blank")
        if "\x00" in value:
            raise ValueError("question must be text")
        return value


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


class AskResponse(BaseModel):
    answer: str
    lang: str
    refused: bool
    status: str
    services: list[ServiceOut]
    sources: list[SourceOut]
    generator: str
    fallback: str | None
    label: str
    rephrased_question: str | None


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


def create_api(assistant: Assistant) -> FastAPI:
    """The FastAPI app; `app.py` mounts the web UI on it."""
    app = FastAPI(title="Qazaq eGov Assistant", version="0.1.0",
                  description="Answers about egov.kz e-services in Kazakh, Russian and English, with citations.")
    app.state.assistant = assistant

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
        return _error(503, "store_unavailable", "The knowledge base is temporarily unavailable. Please try again "
                      "shortly or call 1414.", {"Retry-After": "10"})

    @app.exception_handler(IndexModelMismatch)
    async def wrong_index(request: Request, exc: IndexModelMismatch):
        return _error(503, "index_mismatch", str(exc))

    @app.post("/api/ask", response_model=AskResponse, responses={422: {"model": ErrorOut}, 503: {"model": ErrorOut}})
    def ask(body: AskRequest) -> dict:
        answer = assistant.ask(body.question, lang=body.lang, history=[t.model_dump() for t in body.history])
        return answer.public_dict()

    @app.get("/api/services/{code}", response_model=ServiceCardOut, responses={404: {"model": ErrorOut}})
    def service(code: str):
        entry = assistant.catalogue.get(code)
        if entry is None:
            return _error(404, "not_found", f"no e-service with code {code!r} in the catalogue")
        langs = [lang for lang in ("kk", "ru", "en") if assistant.composer.card(code, lang)
                 and assistant.composer.card(code, lang)[0].meta.get("lang") == lang]
        return {"code": entry.code, "category": entry.category, "url": entry.url, "title": entry.title,
                "keywords": entry.keywords, "card_languages": langs}

    @app.get("/api/health")
    def health():
        checks: dict[str, dict] = {}
        try:
            checks["store"] = {"ok": True, "public_chunks": assistant.store.count("public"),
                               "backend": "chroma-server" if assistant.settings.chroma_url else "chroma-embedded"}
        except Exception as exc:  # a health probe reports, never raises
            checks["store"] = {"ok": False, "error": str(exc)[:200]}
        try:
            assistant.store.embeddings.embed_query("health")
            checks["embedder"] = {"ok": True, "model": assistant.store.embeddings.model_id}
        except Exception as exc:
            checks["embedder"] = {"ok": False, "error": str(exc)[:200]}
        checks["catalogue"] = {"ok": len(assistant.catalogue) > 0, "services": len(assistant.catalogue)}
        ok = all(c["ok"] for c in checks.values())
        return JSONResponse(status_code=200 if ok else 503, content={"status": "ok" if ok else "degraded", **checks})

    return app
