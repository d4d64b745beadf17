"""Shared fixtures: a real index of the real corpus (built once per run) and a real running app."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from assistant.service import Assistant
from assistant.settings import PROJECT_ROOT, Settings
from evals.appserver import RunningApp
from tests.servers import EMBED_CACHE, running_app

SHARED_DATA = Path(os.environ.get("ASSISTANT_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))
REGULATIONS = SHARED_DATA / "regulations"
EGOV_CSV = SHARED_DATA / "egov" / "egov_services_ru.csv"
PORTAL_PAGES = SHARED_DATA / "egov" / "egov_portal_pages_kk.jsonl"


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
    """The real assistant over the whole corpus/ and, when present, the official acts and the portal pages (what the
    app, the evaluation and the fitted router see) in a throw-away store."""
    extra = [p for p in (REGULATIONS, PORTAL_PAGES) if p.exists()]
    instance = Assistant(make_settings(index_dir, extra_sources=extra))
    report = instance.ingest(progress=False)
    assert report.ok, report.errors
    return instance


@pytest.fixture(scope="session")
def live_app(tmp_path_factory) -> RunningApp:
    """`python app.py` as a user starts it, on a free port (its data dir holds staff tokens, audit, log)."""
    with running_app(tmp_path_factory.mktemp("server")) as app:
        yield app


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
