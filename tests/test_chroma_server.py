"""The store and API tests again, against a real Chroma server (ASSISTANT_CHROMA_URL) instead of the
embedded store. `.ci/run` starts `chroma run` and sets ASSISTANT_TEST_CHROMA_URL; without it they skip.

The tests are the very functions of test_api.py and test_ingest.py, collected here a second time:
`make_settings` points at the server while ASSISTANT_TEST_STORE says so, and `live_server` below is
`python app.py` with ASSISTANT_CHROMA_URL.
"""
from __future__ import annotations

import httpx
import pytest
from _pytest.fixtures import FixtureFunctionDefinition

import tests.test_api as api_tests
import tests.test_ingest as ingest_tests
from tests.conftest import CHROMA_URL, chroma_server_settings
from tests.servers import running_app

pytestmark = [pytest.mark.skipif(not CHROMA_URL, reason="ASSISTANT_TEST_CHROMA_URL is not set (.ci/run sets it)"),
              pytest.mark.slow]

for _module in (api_tests, ingest_tests):
    for _name, _obj in vars(_module).items():
        is_test = _name.startswith("test_") and callable(_obj)
        if (is_test or isinstance(_obj, FixtureFunctionDefinition)) and _name not in ("live_server", "live_app"):
            globals()[_name if _name not in globals() else f"{_name}_{_module.__name__.rsplit('.', 1)[-1]}"] = _obj


@pytest.fixture(autouse=True)
def store_on_chroma_server(monkeypatch):
    monkeypatch.setenv("ASSISTANT_TEST_STORE", "chroma-server")


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    """The app as deployed: its index on the Chroma server, nothing on its own disk but caches."""
    data_dir = tmp_path_factory.mktemp("server-chroma")
    prefix = chroma_server_settings(data_dir)["collection_prefix"]
    with running_app(data_dir, ASSISTANT_CHROMA_URL=CHROMA_URL, ASSISTANT_COLLECTION_PREFIX=prefix) as app:
        yield app


@pytest.fixture(scope="module")
def live_server(live_app) -> str:
    return live_app.base


def test_health_names_the_chroma_server(live_server):
    store = httpx.get(f"{live_server}/api/health", timeout=30).json()["store"]
    assert store["ok"] and store["backend"] == "chroma-server" and store["url"] == CHROMA_URL
