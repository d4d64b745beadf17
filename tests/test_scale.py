"""The scale benchmark (evals/scale.py) at its smallest size: it runs end to end and writes its report.
The full sizes (1k, 10k, 50k chunks) are `python -m evals.scale`; their numbers are in the README."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.settings import PROJECT_ROOT
from tests.conftest import EMBED_CACHE

pytestmark = pytest.mark.slow


def test_scale_benchmark_reports_latency_throughput_and_memory(tmp_path):
    run = subprocess.run([sys.executable, "-m", "evals.scale", "--sizes", "1000", "--queries", "30",
                          "--embed-sample", "32", "--embedding-cache", str(EMBED_CACHE), "--out", str(tmp_path)],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads((tmp_path / "scale.json").read_text(encoding="utf-8"))
    (row,) = report["sizes"]
    assert row["chunks"] == 1000 and row["ask_errors"] == 0
    for key in ("write_chunks_per_s", "retrieval_p50_ms", "retrieval_p95_ms", "ask_p50_ms", "ask_p95_ms",
                "rss_peak_mb"):
        assert row[key] > 0, key
    assert row["retrieval_p50_ms"] <= row["retrieval_p95_ms"] and row["ask_p50_ms"] <= row["ask_p95_ms"]
    assert report["embedding"]["embed_chunks_per_s"] > 0
    assert "| 1,000 |" in (tmp_path / "scale.md").read_text(encoding="utf-8")
    assert (tmp_path / "scale.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
