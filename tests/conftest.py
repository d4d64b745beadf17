"""Shared fixtures: a real index of the real corpus (built once per run) and a real running app."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistant.service import Assistant
from assistant.settings import PROJECT_ROOT, Settings

SHARED_DATA = Path(os.environ.get("ASSISTANT_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))
REGULATIONS = SHARED_DATA / "regulations"
EGOV_CSV = SHARED_DATA / "egov" / "egov_services_ru.csv"
# One vector cache for every test index: identical text is embedded once per machine, not per test.
EMBED_CACHE = Path(os.environ.get("ASSISTANT_TEST_EMBED_CACHE", PROJECT_ROOT / ".data" / "test-embedding-cache.sqlite"))


def make_settings(data_dir: Path, **overrides) -> Settings:
    values = dict(data_dir=data_dir, corpus_dir=PROJECT_ROOT / "corpus", embedding_cache=EMBED_CACHE,
                  extra_sources=[], ui=False)
    if os.environ.get("ASSISTANT_TEST_STORE") == "chroma-server":  # set by tests/test_chroma_server.py
        values.update(chroma_server_settings(data_dir))
    values.update(overrides)
    return Settings(**values)


# A Chroma server that .ci/run starts; tests/test_chroma_server.py runs the store and API tests against it.
CHROMA_URL = os.environ.get("ASSISTANT_TEST_CHROMA_URL")


def chroma_server_settings(data_dir: Path) -> dict:
    """Each test index gets its own collections on the shared server, named after its data folder."""
    import hashlib

    salt = os.environ.setdefault("ASSISTANT_TEST_RUN_ID", str(time.time_ns()))
    prefix = "t" + hashlib.sha1(f"{salt}:{Path(data_dir).resolve()}".encode()).hexdigest()[:16]
    return {"chroma_url": CHROMA_URL, "collection_prefix": prefix}


needs_shared = pytest.mark.skipif(not EGOV_CSV.is_file(), reason="../shared/data is not present")


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def assistant(index_dir) -> Assistant:
    """The real assistant over the whole corpus/ in a throw-away store."""
    instance = Assistant(make_settings(index_dir))
    report = instance.ingest(progress=False)
    assert report.ok, report.errors
    return instance


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveApp:
    """The running app: its URL, its data dir (staff tokens, audit) and the log it writes."""

    base: str
    data_dir: Path
    log_path: Path
    env: dict


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """`python app.py` as a user starts it, on a free port."""
    data_dir = tmp_path_factory.mktemp("server")
    port = free_port()
    # The suite sends hundreds of requests from one address; tests/test_abuse.py checks the limiter itself.
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), "ASSISTANT_PORT": str(port),
           "ASSISTANT_HOST": "127.0.0.1", "ASSISTANT_EMBEDDING_CACHE": str(EMBED_CACHE),
           "ASSISTANT_RATE_LIMIT_PER_MINUTE": "100000", "ASSISTANT_RATE_LIMIT_BURST": "100000"}
    log = open(data_dir / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 600
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited early:\n{(data_dir / 'server.log').read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(1)
    else:
        proc.kill()
        raise RuntimeError("app did not become healthy in time")
    yield LiveApp(base, data_dir, data_dir / "server.log", env)
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def live_server(live_app) -> str:
    """The running app's base URL."""
    return live_app.base


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    """A copy of a few real corpus files that a test may change, break or delete."""
    root = tmp_path / "corpus"
    (root / "services").mkdir(parents=True)
    (root / "catalogue").mkdir()
    src = PROJECT_ROOT / "corpus"
    for path in sorted((src / "services").glob("e_004.*.md")):
        shutil.copy(path, root / "services" / path.name)
    for path in sorted((src / "catalogue").glob("*.yaml"))[:1]:
        shutil.copy(path, root / "catalogue" / path.name)
    staff = sorted((src / "staff").glob("*.ru.md"))[:1]
    if staff:
        (root / "staff").mkdir()
        shutil.copy(staff[0], root / "staff" / staff[0].name)
    return root
