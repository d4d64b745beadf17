"""What an operator reads: /api/health per dependency, Prometheus metrics, feedback export, and a store
that pages through big collections."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx
import pytest

import assistant.store as store_module
from assistant.components import build_store
from assistant.feedback import FeedbackStore, answer_id, question_id
from assistant.health import check_llm
from assistant.settings import PROJECT_ROOT
from tests.conftest import make_settings


def samples(text: str, name: str) -> dict[str, float]:
    """{label string: value} of one metric in Prometheus text format."""
    return {m.group(1) or "": float(m.group(2))
            for m in re.finditer(rf"^{name}(?:\{{(.*?)\}})? (\S+)$", text, re.M)}


@pytest.mark.slow
def test_health_names_every_dependency_and_the_llm_is_not_configured(live_server):
    r = httpx.get(f"{live_server}/api/health", timeout=30)
    body = r.json()
    assert r.status_code == 200 and body["status"] == "ok"
    assert {"store", "embedder", "catalogue", "llm"} <= set(body)
    assert body["store"]["backend"] == "chroma-embedded"
    assert body["llm"] == {"ok": True, "status": "not configured", "generator": "composer"}


def test_llm_health_reports_a_server_that_is_not_there(tmp_path):
    from tests.servers import free_port

    settings = make_settings(tmp_path, llm="openai", llm_base_url=f"http://127.0.0.1:{free_port()}/v1")
    llm = check_llm(settings)
    assert llm["ok"] is False and llm["status"] == "down" and llm["fallback"] == "composer"


@pytest.mark.slow
def test_metrics_count_requests_answers_refusals_and_routing_confidence(live_server):
    httpx.post(f"{live_server}/api/ask", json={"question": "Как получить справку о несудимости?"}, timeout=120)
    httpx.post(f"{live_server}/api/ask", json={"question": "Какая погода будет завтра в Астане?"}, timeout=120)
    httpx.get(f"{live_server}/api/services/no_such_code", timeout=30)
    r = httpx.get(f"{live_server}/metrics", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    requests = samples(text, "assistant_http_requests_total")
    assert requests.get('method="POST",route="/api/ask",status="200"', 0) >= 2
    assert requests.get('method="GET",route="/api/services/{code}",status="404"', 0) >= 1  # the template, not the path
    assert samples(text, "assistant_http_request_duration_seconds_count")
    answered = samples(text, "assistant_answers_total")
    assert answered.get('generator="composer",lang="ru",status="answered"', 0) >= 1
    assert sum(samples(text, "assistant_refusals_total").values()) >= 1
    assert samples(text, "assistant_routing_confidence_count").get('lang="ru"', 0) >= 1
    assert samples(text, "assistant_pipeline_step_seconds_count").get('step="retrieve"', 0) >= 1
    assert "assistant_fallbacks_total" in text and "assistant_store_unavailable_total" in text


@pytest.mark.slow
def test_feedback_api_stores_ids_and_redacts(live_app):
    question = "Как получить справку о несудимости? Пишите на aigerim@example.kz"
    r = httpx.post(f"{live_app.base}/api/feedback", timeout=30,
                   json={"question": question, "answer": "Справка бесплатна. [1]", "rating": "up",
                         "comment": "мой ИИН 900101300126", "lang": "ru"})
    assert r.status_code == 201, r.text
    ids = r.json()
    assert ids["question_id"] == question_id(question) and ids["answer_id"] == answer_id(question, "Справка бесплатна. [1]")
    assert httpx.post(f"{live_app.base}/api/feedback", json={"question": "x", "answer": "y", "rating": "meh"},
                      timeout=30).status_code == 422
    out = subprocess.run([sys.executable, "-m", "assistant.feedback", "export", "--format", "jsonl"],
                         cwd=PROJECT_ROOT, env=live_app.env, capture_output=True, text=True, timeout=120, check=True)
    row = next(json.loads(line) for line in out.stdout.splitlines() if json.loads(line)["id"] == ids["id"])
    assert row["channel"] == "api" and row["rating"] == "up"
    assert "aigerim@example.kz" not in out.stdout and "900101300126" not in out.stdout
    assert "[EMAIL]" in row["question"] and "[IIN]" in row["comment"]


def test_feedback_export_merges_replicas_and_writes_csv(tmp_path):
    first, second = FeedbackStore(tmp_path / "r1.sqlite"), FeedbackStore(tmp_path / "r2.sqlite")
    first.record("Как получить справку?", "Ответ [1]", "up", lang="ru")
    second.record("Анықтаманы қалай алуға болады?", "Жауап [1]", "down", comment="түсініксіз", lang="kk")
    out = tmp_path / "all.csv"
    subprocess.run([sys.executable, "-m", "assistant.feedback", "export", "--format", "csv", "--out", str(out),
                    "--db", str(tmp_path / "r1.sqlite"), "--db", str(tmp_path / "r2.sqlite"), "--db",
                    str(tmp_path / "r1.sqlite")], cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=120)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,created_at,channel,rating") and len(lines) == 3  # each row once
    stats = subprocess.run([sys.executable, "-m", "assistant.feedback", "stats", "--db", str(tmp_path / "r2.sqlite")],
                           cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=True).stdout
    assert "kk\tdown\t1" in stats


def test_store_pages_through_a_collection_larger_than_one_get(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "GET_PAGE", 7)
    store = build_store(make_settings(tmp_path))
    store.langchain("public")
    n = 23
    store.add_vectors("public", [f"c{i}" for i in range(n)], [f"text {i}" for i in range(n)],
                      [[1.0, float(i)] + [0.0] * 382 for i in range(n)],
                      [{"source": f"file-{i % 3}", "n_chunks": 1, "file_hash": "h"} for i in range(n)])
    assert sorted(r.chunk_id for r in store.records("public")) == sorted(f"c{i}" for i in range(n))
    assert sum(len(s["ids"]) for s in store.source_state("public").values()) == n
    assert len(store.records("public", where={"source": "file-1"})) == 8
