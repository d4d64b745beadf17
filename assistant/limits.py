"""Abuse limits in front of every route: request size, a per-client rate, bodies that are not UTF-8.

Plain ASGI middleware, so they hold for the API, the streaming endpoint and the mounted Gradio UI
alike. The rate limiter lives in the process: each replica (uvicorn worker, container) limits on
its own, so N replicas behind a balancer let a client through N times faster (README "Limits").
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

from assistant.settings import Settings

# Requests under these prefixes are the ones that make the assistant work; health and metrics are free.
_FREE_PATHS = ("/api/health", "/metrics")
_MAX_CLIENTS = 10_000


async def _send_error(send, status: int, error: str, message: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": error, "message": message}, ensure_ascii=False).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RequestBodyLimit:
    """413 for a body over `max_bytes` (declared or streamed); 400 for a JSON body to /api/ that is not UTF-8."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        too_large = (f"The request body is larger than {self.max_bytes} bytes. Send a shorter question and "
                     "fewer history turns.")
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                if int(declared) > self.max_bytes:
                    return await _send_error(send, 413, "request_too_large", too_large)
            except ValueError:
                return await _send_error(send, 400, "bad_request", "Content-Length is not a number.")
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") and declared is None \
                and b"chunked" not in headers.get(b"transfer-encoding", b""):
            return await self.app(scope, receive, send)
        # Read the body here (it is small by now), then hand it on unchanged.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await _send_error(send, 413, "request_too_large", too_large)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if scope["path"].startswith("/api/") and body and content_type.endswith(b"json"):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                return await _send_error(send, 400, "bad_encoding", "The request body must be JSON in UTF-8.")
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucket:
    """`burst` requests at once, then `per_minute` a minute, per key; pure and clock-injectable for tests."""

    def __init__(self, per_minute: float, burst: int):
        self.rate = per_minute / 60.0
        self.burst = burst
        self.buckets: dict[str, _Bucket] = {}

    def take(self, key: str, now: float | None = None) -> float:
        """0 when the request may go; else the seconds until it may."""
        now = time.monotonic() if now is None else now
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= _MAX_CLIENTS:
                self._forget_idle(now)
            bucket = self.buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        """A bucket that has refilled is the same as no bucket: drop those (and the oldest, if need be)."""
        full = [k for k, b in self.buckets.items() if b.tokens + (now - b.updated) * self.rate >= self.burst]
        for key in full:
            del self.buckets[key]
        if len(self.buckets) >= _MAX_CLIENTS:
            for key in sorted(self.buckets, key=lambda k: self.buckets[k].updated)[: _MAX_CLIENTS // 10]:
                del self.buckets[key]


class RateLimit:
    """429 with Retry-After once a client (its address) exceeds the rate; POSTs and /api/ routes count."""

    def __init__(self, app, per_minute: float, burst: int):
        self.app = app
        self.bucket = TokenBucket(per_minute, burst) if per_minute > 0 else None

    async def __call__(self, scope, receive, send):
        if self.bucket is None or scope["type"] != "http" or not self._counts(scope):
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.bucket.take(client)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            return await _send_error(send, 429, "rate_limited", f"Too many requests. Please try again in {seconds} s.",
                                     {"Retry-After": str(seconds)})
        return await self.app(scope, receive, send)

    @staticmethod
    def _counts(scope) -> bool:
        path = scope["path"]
        if path.startswith(_FREE_PATHS):
            return False
        return scope["method"] == "POST" or path.startswith("/api/")


def install_limits(app, settings: Settings) -> None:
    """Body limit inside, rate limit outside it (a limited client costs nothing, not even reading its body)."""
    app.add_middleware(RequestBodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(RateLimit, per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst)
