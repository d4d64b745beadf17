"""Prometheus metrics at `/metrics`: HTTP traffic, answer outcomes and routing confidence.

One registry per app (tests build several apps in one process). Under gunicorn/uvicorn with
several worker processes set PROMETHEUS_MULTIPROC_DIR and every worker's samples are summed.
"""
from __future__ import annotations

import os
import time

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import disable_created_metrics, multiprocess

from assistant.answer import Answer

disable_created_metrics()  # the *_created series double the output and no dashboard of ours reads them
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CONFIDENCE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))


def route_label(scope: dict) -> str:
    """The route template (`/api/services/{code}`), never the raw path: labels must stay few."""
    path = getattr(scope.get("route"), "path", None)
    if path and path.startswith(("/api", "/metrics")):
        return path
    return "/api/other" if scope.get("path", "").startswith("/api") else "ui"


class AssistantMetrics:
    """The assistant's metrics; `observe_answer` is called for every answer the service gives."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("assistant_http_requests_total", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("assistant_http_request_duration_seconds", "HTTP request latency",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=r)
        self.answers = Counter("assistant_answers_total", "Answers by outcome",
                               ["status", "lang", "generator"], registry=r)
        self.refusals = Counter("assistant_refusals_total", "Answers that declined (refusal or guardrail)",
                                ["lang", "status"], registry=r)
        self.fallbacks = Counter("assistant_fallbacks_total", "LLM answers replaced by the composer's, by reason",
                                 ["generator", "reason"], registry=r)
        self.confidence = Histogram("assistant_routing_confidence", "Calibrated confidence of the top e-service",
                                    ["lang"], buckets=CONFIDENCE_BUCKETS, registry=r)
        self.answer_latency = Histogram("assistant_answer_duration_seconds", "Time to build one answer",
                                        ["generator"], buckets=LATENCY_BUCKETS, registry=r)
        self.steps = Histogram("assistant_pipeline_step_seconds", "Time in each step of the answer pipeline",
                               ["step"], buckets=LATENCY_BUCKETS, registry=r)
        self.store_errors = Counter("assistant_store_unavailable_total", "Requests failed by an unreachable store",
                                    registry=r)
        self.feedback = Counter("assistant_feedback_total", "Feedback given in the UI or API", ["rating"], registry=r)

    def observe_answer(self, answer: Answer) -> None:
        status = getattr(answer.status, "value", str(answer.status))
        self.answers.labels(status, answer.lang or "", answer.generator or "").inc()
        if answer.refused:
            self.refusals.labels(answer.lang or "", status).inc()
        if answer.fallback:
            self.fallbacks.labels(answer.generator or "", str(answer.fallback)).inc()
        candidates = (answer.metrics or {}).get("candidates") or []
        top = answer.services[0].score if answer.services else (candidates[0].get("score") if candidates else None)
        if top is not None:
            self.confidence.labels(answer.lang or "").observe(float(top))
        for step, ms in ((answer.metrics or {}).get("timings_ms") or {}).items():
            self.steps.labels(step).observe(ms / 1000)
        total_ms = (answer.metrics or {}).get("total_ms")
        if total_ms is not None:
            self.answer_latency.labels(answer.generator or "").observe(total_ms / 1000)

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


class RequestMetrics:
    """Plain ASGI middleware: counts every HTTP request and times it to its last byte (streams included)."""

    def __init__(self, app, metrics: AssistantMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def send_and_note(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = route_label(scope)
            if route != "/metrics":
                self.metrics.requests.labels(scope["method"], route, str(status)).inc()
                self.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)


def install_metrics(app: FastAPI, metrics: AssistantMetrics) -> None:
    """Adds the request middleware and the `/metrics` route."""
    app.state.metrics = metrics
    app.add_middleware(RequestMetrics, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
