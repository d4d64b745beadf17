"""Benchmark: ingest throughput (tokens/s) and `/api/ask` latency p50/p95 against a real running app.

    python evals/bench.py                       # ingest corpus/ into a fresh index with a fresh vector cache,
                                                # start `python app.py` on it, ask 50 questions over HTTP
    python evals/bench.py --url http://127.0.0.1:7860 --skip-ingest   # only latency, against a running app
    python evals/bench.py --source ../shared/data/regulations          # throughput on other files
    ASSISTANT_EMBEDDING_CACHE=.data/test-embedding-cache.sqlite python evals/bench.py --source corpus/services
                                                # a quick one: the app starts from vectors already cached

Tokens are counted as the ingestion report counts them (characters / 4).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.components import build_store  # noqa: E402
from assistant.ingestion import Ingestor  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from evals.dataset import load_questions  # noqa: E402


def measure_ingest(data_dir: Path, sources: list[Path], cache: Path) -> dict:
    """A cold ingest: empty index, empty vector cache, so every chunk is really embedded."""
    settings = Settings(data_dir=data_dir, embedding_cache=cache, ui=False)
    report = Ingestor(settings, build_store(settings)).run(sources, progress=True)
    return {"files": len(report.added), "chunks": report.chunks_written, "texts_embedded": report.texts_embedded,
            "tokens": report.tokens_embedded, "seconds": round(report.seconds, 1),
            "tokens_per_s": round(report.tokens_embedded / report.seconds, 1) if report.seconds else None,
            "errors": len(report.errors)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(data_dir: Path, cache: Path, log_path: Path, timeout: float = 1800) -> tuple[subprocess.Popen, str]:
    """`python app.py` as a user starts it (it ingests corpus/ on start; cached vectors cost nothing)."""
    port = _free_port()
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), "ASSISTANT_PORT": str(port),
           "ASSISTANT_HOST": "127.0.0.1", "ASSISTANT_UI": "false", "ASSISTANT_EMBEDDING_CACHE": str(cache),
           "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0"}  # one client asking 50 questions is the benchmark, not abuse
    log = log_path.open("w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited early, see {log_path}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(1)
    proc.terminate()
    raise RuntimeError("app did not become healthy in time")


def measure_latency(base: str, dataset: Path, n: int) -> dict:
    questions = load_questions(dataset)[:n]
    latencies, failed = [], 0
    with httpx.Client(timeout=120) as client:
        client.post(f"{base}/api/ask", json={"question": "справка о несудимости"})  # warm-up, not counted
        for q in questions:
            t0 = time.perf_counter()
            r = client.post(f"{base}/api/ask", json={"question": q.question, "history": q.history})
            if r.status_code != 200:  # a 429 from a rate-limited app would look fast: not a latency
                failed += 1
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
    arr = np.array(latencies or [0.0])
    return {"questions": len(latencies), "p50_ms": round(float(np.percentile(arr, 50)), 1),
            "p95_ms": round(float(np.percentile(arr, 95)), 1), "mean_ms": round(float(arr.mean()), 1),
            "failed": failed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, action="append", help="what to ingest (default corpus/)")
    parser.add_argument("--url", help="an app already running (default: start app.py on the benchmark's index)")
    parser.add_argument("--skip-ingest", action="store_true", help="only measure /api/ask latency")
    parser.add_argument("--dataset", type=Path, default=ROOT / "evals" / "datasets" / "dev.jsonl")
    parser.add_argument("-n", type=int, default=50, help="questions to ask (default 50)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the app and removes tmp
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    result: dict = {}
    proc = None
    try:
        # The app reuses the vectors the ingest benchmark made (or ASSISTANT_EMBEDDING_CACHE when set).
        cache = Path(os.environ.get("ASSISTANT_EMBEDDING_CACHE") or tmp / "embedding_cache.sqlite")
        if not args.skip_ingest:
            result["ingest"] = measure_ingest(tmp / "ingest", args.source or [ROOT / "corpus"], tmp / "cold-cache.sqlite")
            if "ASSISTANT_EMBEDDING_CACHE" not in os.environ:
                cache = tmp / "cold-cache.sqlite"
            i = result["ingest"]
            print(f"ingest: {i['files']} files, {i['chunks']} chunks, ~{i['tokens']} tokens in {i['seconds']} s "
                  f"= {i['tokens_per_s']} tokens/s")
        base = args.url
        if not base:
            proc, base = start_app(tmp / "app", cache, tmp / "app.log")
        result["ask"] = measure_latency(base, args.dataset, args.n)
        a = result["ask"]
        print(f"/api/ask over {a['questions']} questions: p50 {a['p50_ms']} ms, p95 {a['p95_ms']} ms, "
              f"mean {a['mean_ms']} ms, {a['failed']} requests not answered 200")
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
