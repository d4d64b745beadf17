"""Abuse limits: long questions, big or binary bodies, floods; the server answers 4xx and stays up."""
from __future__ import annotations

import copy
import json
import re
import socket

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from starlette.testclient import TestClient

from assistant.api import create_api
from assistant.limits import TokenBucket

GOOD = {"question": "Как получить справку о несудимости?"}


def api_with(assistant, **limits):
    """The real API over the session's real index, with its own limits (a shallow copy shares the store)."""
    limited = copy.copy(assistant)
    limited.settings = assistant.settings.model_copy(update=limits)
    limited.answer_listeners = []
    return create_api(limited)


# --- rate limit -----------------------------------------------------------------------------------

def test_token_bucket_allows_a_burst_then_the_rate():
    bucket = TokenBucket(per_minute=60, burst=3)
    assert [bucket.take("a", now=0.0) for _ in range(3)] == [0, 0, 0]
    assert bucket.take("a", now=0.0) == pytest.approx(1.0)  # one token a second
    assert bucket.take("b", now=0.0) == 0  # another client has its own bucket
    assert bucket.take("a", now=1.0) == 0
    assert bucket.take("a", now=1.5) == pytest.approx(0.5)
    assert bucket.take("a", now=100.0) == 0  # refilled, never beyond the burst
    assert [bucket.take("a", now=100.0) for _ in range(3)][-1] > 0


def test_flooding_client_gets_429_with_retry_after_and_others_do_not(assistant):
    app = api_with(assistant, rate_limit_per_minute=6, rate_limit_burst=3)
    flood = TestClient(app, client=("203.0.113.7", 40000))
    codes = [flood.post("/api/ask", json={"question": "Привет"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = flood.post("/api/ask", json={"question": "Привет"})
    assert r.status_code == 429 and r.json()["error"] == "rate_limited" and r.json()["message"]
    assert 1 <= int(r.headers["retry-after"]) <= 10
    assert flood.get("/api/health").status_code == 200  # probes are never limited
    other = TestClient(app, client=("198.51.100.9", 40000))
    assert other.post("/api/ask", json={"question": "Привет"}).status_code == 200


def test_rate_limit_zero_switches_it_off(assistant):
    app = api_with(assistant, rate_limit_per_minute=0)
    client = TestClient(app)
    assert all(client.post("/api/ask", json={"question": "Привет"}).status_code == 200 for _ in range(15))


# --- sizes ------------------------------------------------------------------------------------------

def test_question_limit_comes_from_the_settings(assistant):
    app = api_with(assistant, max_question_chars=50)
    client = TestClient(app)
    r = client.post("/api/ask", json={"question": "а" * 51})
    assert r.status_code == 422 and "question" in r.json()["message"] and "50" in r.json()["message"]
    assert client.post("/api/ask", json={"question": "а" * 10}).status_code == 200
    schema = client.get("/openapi.json").json()["components"]["schemas"]["AskRequest"]
    assert schema["properties"]["question"]["maxLength"] == 50


def test_body_limit_comes_from_the_settings(assistant):
    client = TestClient(api_with(assistant, max_request_bytes=1000))
    r = client.post("/api/ask", json={"question": "x", "history": [{"role": "user", "content": "y" * 2000}]})
    assert r.status_code == 413 and r.json()["error"] == "request_too_large" and "1000" in r.json()["message"]
    chunked = client.post("/api/ask", content=(b"x" * 100 for _ in range(20)),
                          headers={"content-type": "application/json"})
    assert chunked.status_code == 413
    assert client.post("/api/ask", json=GOOD).status_code == 200


# --- over real HTTP: 4xx for anything bad, and the next request still works ----------------------

BAD_REQUESTS = [
    ("oversize body", json.dumps({"question": "x", "history": [{"role": "user", "content": "я" * 3999}] * 40}).encode(),
     "application/json", 413),
    ("oversize question", json.dumps({"question": "я" * 2001}).encode(), "application/json", 422),
    ("binary", bytes(range(256)) * 8, "application/octet-stream", None),
    ("not utf-8", b'{"question": "\xff\xfe\xfa"}', "application/json", 400),
    ("utf-16", json.dumps(GOOD).encode("utf-16"), "application/json", 400),
    ("malformed json", b'{"question": "hi"', "application/json", 422),
    ("lone surrogate", b'{"question": "\\ud800 hi"}', "application/json", 422),
    ("json array", b'[1, 2, 3]', "application/json", 422),
    ("empty", b"", "application/json", 422),
    ("null bytes", b'{"question": "hi\\u0000"}', "application/json", 422),
    ("form", b"question=hi", "application/x-www-form-urlencoded", None),
    ("xml", b"<question>hi</question>", "application/xml", None),
    ("bad history", json.dumps({"question": "hi", "history": [{"role": "user", "content": "\udfff"}]},
                               ensure_ascii=True).encode(), "application/json", 422),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,body,ctype,status", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_requests_get_4xx_and_the_next_request_succeeds(live_server, name, body, ctype, status):
    for path in ("/api/ask", "/api/ask/stream"):
        r = httpx.post(f"{live_server}{path}", content=body, headers={"content-type": ctype}, timeout=60)
        assert 400 <= r.status_code < 500, (name, r.status_code, r.text[:200])
        if status:
            assert r.status_code == status, (name, r.text[:200])
        assert r.json()["message"]
    assert httpx.post(f"{live_server}/api/ask", json=GOOD, timeout=120).status_code == 200


def raw_status(host: str, port: int, raw: bytes) -> int | None:
    """Sends bytes no HTTP client would, and returns the status line's code (None: the server just closed)."""
    with socket.create_connection((host, port), timeout=30) as sock:
        try:
            sock.sendall(raw)
            reply = sock.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            return None
    match = re.match(rb"HTTP/1\.[01] (\d{3})", reply)
    return int(match.group(1)) if match else None


@pytest.mark.slow
def test_a_chunked_flood_and_garbage_do_not_take_the_server_down(live_server):
    def endless():
        for _ in range(2000):  # 2 MB, chunked: no Content-Length to reject it up front
            yield b"x" * 1024

    r = httpx.post(f"{live_server}/api/ask", content=endless(), headers={"content-type": "application/json"},
                   timeout=60)
    assert r.status_code == 413
    host, port = live_server.removeprefix("http://").split(":")
    for raw in (b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\nx",
                b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n{",
                b"POST /api/ask HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n",
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(200)),  # a TLS hello
                b"GET /api/health HTTP/9.9\r\n\r\n"):
        status = raw_status(host, int(port), raw)
        assert status is None or 400 <= status < 500, (raw[:40], status)
    assert httpx.get(f"{live_server}/api/services/" + "%ff%fe" * 50, timeout=30).status_code == 404
    assert httpx.post(f"{live_server}/", content=b"\x00" * 1000, timeout=30).status_code < 500
    assert httpx.get(f"{live_server}/api/health", timeout=30).json()["status"] == "ok"
    assert httpx.post(f"{live_server}/api/ask", json=GOOD, timeout=120).status_code == 200


# --- schemathesis over the app's own OpenAPI spec ------------------------------------------------

@pytest.fixture(scope="module")
def api_schema(assistant):
    app = api_with(assistant, rate_limit_per_minute=0)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_no_request_the_spec_allows_or_forbids_gets_a_500(api_schema, mode):
    """Every operation of /openapi.json, with data its schema allows (positive) and breaks (negative)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /api/ask", "GET /api/services/{code}", "GET /api/health"}
    seen: list[str] = []

    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def no_server_error(case):
            response = case.call()
            seen.append(f"{case.method} {response.status_code}")
            allowed_503 = case.path == "/api/health" and response.status_code == 503
            assert response.status_code < 500 or allowed_503, (case.method, case.path, response.status_code,
                                                               response.text[:300])

        try:
            no_server_error()
        except Unsatisfiable:  # no body and no typed parameter: nothing a schema could forbid
            assert mode == GenerationMode.NEGATIVE and operation.method.upper() == "GET"
    assert len(seen) >= 2 * len(operations)
