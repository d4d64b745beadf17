"""Parts going down under a running app, for real: the Chroma server stopped or hung, the LLM server gone,
an ingest killed with SIGKILL. The citizen gets a clear 503 or the composer's answer, never a hang or a
500, and everything comes back without restarting the app."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from assistant.components import build_store
from assistant.corpus import CorpusError, parse_markdown
from assistant.ingestion import Ingestor, discover, source_key
from assistant.settings import PROJECT_ROOT, Settings
from tests.conftest import EMBED_CACHE
from tests.servers import ChromaServer, chroma_cli, running_app

pytestmark = [pytest.mark.slow, pytest.mark.skipif(chroma_cli() is None, reason="the chroma CLI is not installed")]

QUESTION = {"question": "Как получить справку о несудимости?"}


@pytest.fixture(scope="module")
def fault_corpus(tmp_path_factory) -> Path:
    """The criminal-record certificate cards and the whole catalogue: enough to answer, quick to index."""
    root = tmp_path_factory.mktemp("fault-corpus")
    (root / "services").mkdir()
    for path in sorted((PROJECT_ROOT / "corpus" / "services").glob("e_004.*.md")):
        shutil.copy(path, root / "services" / path.name)
    shutil.copytree(PROJECT_ROOT / "corpus" / "catalogue", root / "catalogue")
    return root


def ask(base: str, timeout: float = 60) -> httpx.Response:
    return httpx.post(f"{base}/api/ask", json=QUESTION, timeout=timeout)


def wait_until_answered(base: str, within: float = 60) -> httpx.Response:
    deadline = time.time() + within
    while True:
        r = ask(base)
        if r.status_code == 200 or time.time() > deadline:
            return r
        time.sleep(1)


def metric(base: str, name: str, **labels: str) -> float:
    """One sample of /metrics (0 when absent)."""
    text = httpx.get(f"{base}/metrics", timeout=30).text
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if m and ",".join(sorted((m.group(1) or "").split(","))) == want:
            return float(m.group(2))
    return 0.0


# --- the Chroma server ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    server = ChromaServer(tmp_path_factory.mktemp("chroma") / "db").start()
    yield server
    server.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def app_on_chroma(tmp_path_factory, chroma, fault_corpus):
    with running_app(tmp_path_factory.mktemp("app-on-chroma"), ASSISTANT_CHROMA_URL=chroma.url,
                     ASSISTANT_CORPUS_DIR=str(fault_corpus), ASSISTANT_CHROMA_TIMEOUT_S="3") as app:
        yield app


def ui_reply(base: str, question: str) -> str:
    """The web UI's last chat message for a question, through Gradio's own client."""
    from gradio_client import Client

    history = Client(base + "/", verbose=False).predict(question, [], "auto", api_name="/respond")[0]
    content = history[-1]["content"]
    return content if isinstance(content, str) else " ".join(part.get("text", "") for part in content)


def test_chroma_stopped_gives_a_clear_503_and_recovers_without_restarting_the_app(app_on_chroma, chroma):
    base = app_on_chroma.base
    assert ask(base).json()["services"][0]["code"] == "e_004"

    chroma.stop()
    started = time.monotonic()
    r = ask(base)
    assert time.monotonic() - started < 15
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "store_unavailable" and "1414" in r.json()["message"]
    assert r.headers.get("retry-after")
    health = httpx.get(f"{base}/api/health", timeout=30)
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "unavailable" and body["store"]["ok"] is False
    assert body["embedder"]["ok"] and body["catalogue"]["ok"]  # each dependency on its own
    assert metric(base, "assistant_store_unavailable_total") >= 1
    # The web UI says it in the question's language, instead of an error toast.
    assert "База знаний временно недоступна" in ui_reply(base, QUESTION["question"])
    assert "knowledge base is temporarily unavailable" in ui_reply(base, "How do I get a certificate of no criminal record?")

    chroma.start()  # same port, same folder: what an operator's restart does
    r = wait_until_answered(base, within=30)
    assert r.status_code == 200 and r.json()["services"][0]["code"] == "e_004"
    assert httpx.get(f"{base}/api/health", timeout=30).json()["status"] == "ok"
    assert "[1]" in ui_reply(base, QUESTION["question"])
    assert app_on_chroma.proc.poll() is None  # the same app process all along


def test_a_hung_chroma_server_times_out_into_a_503_and_recovers(app_on_chroma, chroma):
    base = app_on_chroma.base
    assert wait_until_answered(base).status_code == 200
    os.kill(chroma.proc.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        r = ask(base)
        assert r.status_code == 503 and r.json()["error"] == "store_unavailable"
        assert time.monotonic() - started < 20  # ASSISTANT_CHROMA_TIMEOUT_S=3, not forever
    finally:
        os.kill(chroma.proc.pid, signal.SIGCONT)
    assert wait_until_answered(base, within=30).status_code == 200


def test_an_index_rebuilt_by_another_replica_is_picked_up(app_on_chroma, chroma, fault_corpus):
    """`ingest.py --rebuild` elsewhere drops and recreates the collections under the running app."""
    base = app_on_chroma.base
    assert wait_until_answered(base).status_code == 200
    env = {**app_on_chroma.env, "ASSISTANT_DATA_DIR": str(app_on_chroma.data_dir / "replica-2")}
    rebuild = subprocess.run([sys.executable, "ingest.py", str(fault_corpus), "--rebuild", "--quiet"],
                             cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert rebuild.returncode == 0, rebuild.stderr[-2000:]
    r = ask(base)
    assert r.status_code == 200, r.text
    assert r.json()["services"][0]["code"] == "e_004" and r.json()["sources"]
    assert "was recreated; reopening it" in app_on_chroma.log_path.read_text()


def test_a_replica_started_before_its_chroma_server_serves_503_then_recovers(tmp_path, fault_corpus):
    chroma = ChromaServer(tmp_path / "late-chroma")  # not started yet
    with running_app(tmp_path / "app", ready=(503,), ASSISTANT_CHROMA_URL=chroma.url, ASSISTANT_UI="false",
                     ASSISTANT_CORPUS_DIR=str(fault_corpus), ASSISTANT_CHROMA_TIMEOUT_S="3") as app:
        assert "startup ingest skipped" in app.log_path.read_text()
        r = ask(app.base)
        assert r.status_code == 503 and r.json()["error"] == "store_unavailable"
        chroma.start()
        try:
            health = httpx.get(f"{app.base}/api/health", timeout=30)
            assert health.status_code == 200 and health.json()["store"]["ok"]
            # The index job (ingest.py) runs once the server is there; the replica answers from it.
            job = subprocess.run([sys.executable, "ingest.py", str(fault_corpus), "--quiet"], cwd=PROJECT_ROOT,
                                 env={**app.env, "ASSISTANT_DATA_DIR": str(tmp_path / "job")},
                                 capture_output=True, text=True, timeout=600)
            assert job.returncode == 0, job.stderr[-2000:]
            r = ask(app.base)
            assert r.status_code == 200 and r.json()["services"][0]["code"] == "e_004"
        finally:
            chroma.stop(signal.SIGKILL)


# --- the LLM server ---------------------------------------------------------------------------------

def test_llm_server_gone_mid_run_falls_back_to_the_composer(tmp_path, fault_corpus):
    from tests.llm_servers import ScriptedOpenAIServer

    llm = ScriptedOpenAIServer("say", text="Справка о несудимости выдаётся бесплатно [1].")
    with llm, running_app(tmp_path / "app", ASSISTANT_LLM="openai", ASSISTANT_LLM_BASE_URL=llm.url,
                          ASSISTANT_LLM_TIMEOUT_S="5", ASSISTANT_CORPUS_DIR=str(fault_corpus),
                          ASSISTANT_UI="false") as app:
        first = ask(app.base)
        assert first.status_code == 200 and first.json()["generator"] == "openai"
        assert llm.requests >= 1
        health = httpx.get(f"{app.base}/api/health", timeout=30).json()
        assert health["llm"]["ok"] and health["llm"]["generator"] == "openai"

        llm.__exit__(None, None, None)  # the LLM server goes away; the app is not told
        r = ask(app.base)
        assert r.status_code == 200
        body = r.json()
        assert (body["generator"], body["fallback"]) == ("openai", "llm_unreachable")
        assert not body["refused"] and body["services"][0]["code"] == "e_004" and body["sources"]
        health = httpx.get(f"{app.base}/api/health", timeout=30)
        assert health.status_code == 200  # still serving: the balancer keeps the replica
        assert health.json()["status"] == "degraded" and health.json()["llm"]["ok"] is False
        assert metric(app.base, "assistant_fallbacks_total", generator="openai", reason="llm_unreachable") >= 1


# --- ingestion killed midway --------------------------------------------------------------------------

PROGRESS = re.compile(r"(embedding|indexing):\s*\d+%\|[^|]*\|\s*(\d+)/(\d+)")


def ingest_killed_at(settings_env: dict, corpus: Path, phase: str) -> bool:
    """Runs `python ingest.py` and SIGKILLs it once `phase` ("embedding"/"indexing") has made progress but
    not finished; True if it was killed there, False if it finished first."""
    proc = subprocess.Popen([sys.executable, "ingest.py", str(corpus)], cwd=PROJECT_ROOT, env=settings_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.set_blocking(proc.stderr.fileno(), False)
    seen = ""
    deadline = time.time() + 600
    try:
        while proc.poll() is None and time.time() < deadline:
            chunk = proc.stderr.read() or b""
            seen = (seen + chunk.decode(errors="replace"))[-4000:]
            for name, done, total in PROGRESS.findall(seen):
                if name == phase and 0 < int(done) < int(total):
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=30)
                    return True
            time.sleep(0.01)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def readable(path: Path) -> bool:
    try:
        parse_markdown(path)
        return True
    except CorpusError:
        return False


def assert_index_matches_files(settings: Settings, corpus: Path) -> None:
    """Every file's chunks present exactly once, from its current version; nothing else in the index."""
    store = build_store(settings)
    ingestor = Ingestor(settings, store)
    expected: dict[str, dict] = {}
    for path in discover([corpus]):
        source = ingestor.read(path)
        expected[source_key(path)] = {"hash": source.content_hash, "ids": {c.chunk_id for c in ingestor.chunk(source)}}
    state = store.source_state("public")
    assert set(state) == set(expected), "missing or stray files"
    for key, want in expected.items():
        got = state[key]
        assert got["hashes"] == {want["hash"]}, f"{key}: chunks of an old version left"
        assert len(got["ids"]) == len(set(got["ids"])) == got["n_chunks"] == len(want["ids"]), key
        assert set(got["ids"]) == want["ids"], key
    assert store.count("public") == sum(len(w["ids"]) for w in expected.values()), "duplicate or stray chunks"


def test_ingest_killed_midway_and_rerun_leaves_a_consistent_index(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "services").mkdir(parents=True)
    cards = [p for p in sorted((PROJECT_ROOT / "corpus" / "services").glob("*.md")) if readable(p)][:60]
    for path in cards:
        shutil.copy(path, corpus / "services" / path.name)
    # Text the shared vector cache has never seen, so the first run really embeds for a while.
    for path in cards[:4]:
        copy = corpus / "services" / path.name
        _, front, body = copy.read_text(encoding="utf-8").split("---\n", 2)
        copy.write_text(f"---\n{front}---\n" + re.sub(r"(?m)^(- .+)$", r"\1 (kill-test)", body), encoding="utf-8")
    cache = tmp_path / "cache.sqlite"
    if EMBED_CACHE.is_file():
        shutil.copy(EMBED_CACHE, cache)
    data = tmp_path / "data"
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data), "ASSISTANT_EMBEDDING_CACHE": str(cache),
           "ASSISTANT_CORPUS_DIR": str(PROJECT_ROOT / "corpus"), "ASSISTANT_EMBED_BATCH_SIZE": "4"}
    settings = Settings(data_dir=data, embedding_cache=cache, ui=False)

    assert ingest_killed_at(env, corpus, "embedding"), "the first run finished before it could be killed"
    # Killed while writing: some files in, the rest not, one possibly half-written.
    killed_writing = ingest_killed_at(env, corpus, "indexing")
    done = subprocess.run([sys.executable, "ingest.py", str(corpus), "--quiet"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_index_matches_files(settings, corpus)

    # Every file changed (new edition date, same text): each is deleted and rewritten; kill in the middle.
    for path in (corpus / "services").glob("*.md"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"(?m)^effective_date: .*$", "effective_date: 2026-12-31", text, count=1),
                        encoding="utf-8")
    killed_rewriting = ingest_killed_at(env, corpus, "indexing")
    done = subprocess.run([sys.executable, "ingest.py", str(corpus), "--quiet"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_index_matches_files(settings, corpus)
    assert killed_writing or killed_rewriting, "no run could be killed while writing"
    store = build_store(settings)
    assert {str(r.meta.get("effective_date")) for r in store.records("public")} == {"2026-12-31"}
    assert not store.interrupted("public")
