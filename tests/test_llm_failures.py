"""When the LLM server is down, slow, broken or wrong, the citizen still gets the composer's answer, in time.

These run without the local model: a closed port, and a scripted OpenAI-compatible HTTP server
that hangs, stalls, fails or invents a link (the model's own quality is tested in test_llm_local.py).
"""
from __future__ import annotations

import time

import httpx
import pytest

from assistant.api import create_api
from assistant.service import Assistant
from tests.conftest import make_settings
from tests.llm_servers import ScriptedOpenAIServer, read_sse, serve_api
from tests.servers import free_port

QUESTION = "Сколько стоит справка о несудимости?"


@pytest.fixture(scope="module")
def composer_answer(assistant):
    return assistant.ask(QUESTION)


def openai_assistant(assistant, index_dir, base_url: str, timeout_s: float = 4.0) -> Assistant:
    settings = make_settings(index_dir, llm="openai", llm_base_url=base_url, llm_model="any", llm_timeout_s=timeout_s)
    return Assistant(settings, store=assistant.store)


def generation_s(answer) -> float:
    """Time the pipeline spent in the generate step (retrieval on a loaded CI machine varies a lot)."""
    return answer.metrics["timings_ms"]["generate"] / 1000


def test_closed_port_falls_back_to_the_composer_at_once(assistant, index_dir, composer_answer):
    llm = openai_assistant(assistant, index_dir, f"http://127.0.0.1:{free_port()}/v1", timeout_s=4.0)
    answer = llm.ask(QUESTION)
    assert generation_s(answer) < 4.0  # refused connections fail fast, well inside the deadline
    assert (answer.generator, answer.fallback) == ("openai", "llm_unreachable")
    assert answer.answer == composer_answer.answer and not answer.refused
    assert answer.public_dict()["fallback"] == "llm_unreachable"


def test_a_server_that_never_answers_times_out_into_the_composer(assistant, index_dir, composer_answer):
    with ScriptedOpenAIServer("hang") as server:
        llm = openai_assistant(assistant, index_dir, server.url, timeout_s=3.0)
        started = time.monotonic()
        answer = llm.ask(QUESTION)
        elapsed = time.monotonic() - started
    assert server.requests == 1
    assert 3.0 <= generation_s(answer) < 3.0 + 1.0 and elapsed < 60  # the deadline, not the server, decides
    assert (answer.generator, answer.fallback) == ("openai", "llm_timeout")
    assert answer.answer == composer_answer.answer


def test_a_server_that_stalls_mid_answer_times_out_after_the_tokens_it_sent(assistant, index_dir, composer_answer):
    tokens = []
    with ScriptedOpenAIServer("stall") as server:
        llm = openai_assistant(assistant, index_dir, server.url, timeout_s=3.0)
        answer = llm.ask(QUESTION, on_token=tokens.append)
    assert "".join(tokens).strip() == "Справка о"
    assert 3.0 <= generation_s(answer) < 3.0 + 1.0
    assert answer.fallback == "llm_timeout" and answer.answer == composer_answer.answer


def test_a_server_error_is_recorded_as_llm_error(assistant, index_dir, composer_answer):
    with ScriptedOpenAIServer("error") as server:
        answer = openai_assistant(assistant, index_dir, server.url).ask(QUESTION)
    assert (answer.generator, answer.fallback) == ("openai", "llm_error")
    assert answer.answer == composer_answer.answer


def test_a_refusal_stays_a_refusal_and_the_model_is_not_asked(assistant, index_dir):
    with ScriptedOpenAIServer("say", "Лицензию на вылов осетра выдаёт акимат за 3 дня [1].") as server:
        llm = openai_assistant(assistant, index_dir, server.url)
        unsupported = llm.ask("Как получить лицензию на вылов осетра?")  # in scope, but nothing in the corpus
        off_topic = llm.ask("Какая погода будет завтра в Алматы?")  # stopped by a guardrail
    # nothing in the corpus: declined, or at most "which of these?" — never an answer, and no model call
    assert unsupported.status.value in ("unanswerable_no_sources", "clarification") and not unsupported.sources
    assert off_topic.refused and off_topic.status.value == "guardrail"
    assert server.requests == 0 and unsupported.fallback is None and off_topic.fallback is None


def test_stream_ends_with_the_composer_answer_when_verification_fails(assistant, index_dir, composer_answer):
    invented = "Справка стоит 5 000 тенге, оплатить можно на https://pay-egov.example/e_004 [1]."
    with ScriptedOpenAIServer("say", invented) as llm_server:
        llm = openai_assistant(assistant, index_dir, llm_server.url)
        with serve_api(create_api(llm)) as base:
            with httpx.stream("POST", f"{base}/api/ask/stream", json={"question": QUESTION}, timeout=30) as r:
                assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
                events = read_sse(r)
    names = [name for name, _ in events]
    assert names[-1] == "final" and names.count("final") == 1 and set(names[:-1]) == {"token"}
    streamed = "".join(data["text"] for name, data in events if name == "token")
    assert "pay-egov.example" in streamed  # the tokens went out as the model wrote them …
    final = events[-1][1]
    assert final["fallback"] in {"uncited_amount", "uncited_url"} and final["generator"] == "openai"
    assert final["answer"] == composer_answer.answer  # … and the final event replaces them
    assert "pay-egov.example" not in final["answer"]
    assert final["services"][0]["code"] == "e_004" and final["sources"]


def test_stream_without_an_llm_sends_only_the_final_answer(assistant):
    with serve_api(create_api(assistant)) as base:
        with httpx.stream("POST", f"{base}/api/ask/stream", json={"question": QUESTION}, timeout=30) as r:
            events = read_sse(r)
        bad = httpx.post(f"{base}/api/ask/stream", json={"question": "  "}, timeout=30)
    assert [name for name, _ in events] == ["final"]
    final = events[0][1]
    assert final["generator"] == "composer" and final["fallback"] is None and "Уточните на egov.kz" in final["answer"]
    assert bad.status_code == 422 and "blank" in bad.json()["message"]


def test_gradio_chat_streams_the_words_then_shows_the_checked_answer(assistant, index_dir, composer_answer):
    from gradio_client import Client

    from app import create_app

    invented = "Справка стоит 5 000 тенге, оплатить можно на https://pay-egov.example/e_004 [1]."
    with ScriptedOpenAIServer("say", invented) as llm_server:
        llm = openai_assistant(assistant, index_dir, llm_server.url)
        with serve_api(create_app(llm.settings.model_copy(update={"ui": True}), llm)) as base:
            job = Client(base + "/", verbose=False).submit(QUESTION, [], "auto", api_name="/respond")
            final = job.result(timeout=120)
            updates = job.outputs()
    shown = [update[0][-1]["content"] for update in updates if update[0]]
    texts = [c if isinstance(c, str) else " ".join(p.get("text", "") for p in c) for c in shown]
    assert any("pay-egov.example" in t and t != texts[-1] for t in texts[:-1])  # the words, as they came
    final_text = final[0][-1]["content"]
    final_text = final_text if isinstance(final_text, str) else " ".join(p.get("text", "") for p in final_text)
    assert "pay-egov.example" not in final_text and "Уточните на egov.kz" in final_text  # then the checked answer
