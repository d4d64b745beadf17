"""A short load run (evals/load.py, Locust): 20 citizens at once against the running app, no errors.
The full run (20 users, 2 minutes) is `python -m evals.load`; its numbers are in the README."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from assistant.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow
CI_SECONDS = os.environ.get("ASSISTANT_TEST_LOAD_SECONDS", "20")


def test_twenty_concurrent_citizens_get_answers_without_a_single_error(live_server, tmp_path):
    run = subprocess.run([sys.executable, "-m", "evals.load", "--url", live_server, "--users", "20",
                          "--spawn-rate", "20", "--duration", CI_SECONDS, "--out", str(tmp_path)],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads((tmp_path / "load.json").read_text(encoding="utf-8"))
    total = report["total"]
    print((tmp_path / "load.md").read_text(encoding="utf-8"))
    assert total["failures"] == 0 and not report["errors"]
    assert total["requests"] >= 100  # 20 users × ~1 question a second, even on a busy 2-core machine
    assert set(report["per_language"]) == {"kk", "ru", "en"}
    assert 0 < total["p95_ms"] < 15_000
