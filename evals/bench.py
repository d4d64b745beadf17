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
import contextlib
import json
import os
import shutil
import signal
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
from evals.appserver import running_app  # noqa: E402


def measure_ingest(data_dir: Path, sources: list[Path], cache: Path) -> dict:
    """A cold ingest: empty index, empty vector cache, so every chunk is really embedded."""
    settings = Settings(data_dir=data_dir, embedding_cache=cache, ui=False)
    report = Ingestor(settings, build_store(settings)).run(sources, progress=True)
    return {"files": len(report.added), "chunks": report.chunks_written, "texts_embedded": report.texts_embedded,
            "tokens": report.tokens_embedded, "seconds": round(report.seconds, 1),
            "tokens_per_s": round(report.tokens_embedded / report.seconds, 1) if report.seconds else None,
            "errors": len(report.errors)}


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
        with contextlib.ExitStack() as stack:
            base = args.url
            if not base:
                # one client asking 50 questions is the benchmark, not abuse: no rate limit
                env = {"ASSISTANT_UI": "false", "ASSISTANT_EMBEDDING_CACHE": str(cache),
                       "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0"}
                base = stack.enter_context(running_app(tmp / "app", env, timeout=1800)).base
            result["ask"] = measure_latency(base, args.dataset, args.n)
        a = result["ask"]
        print(f"/api/ask over {a['questions']} questions: p50 {a['p50_ms']} ms, p95 {a['p95_ms']} ms, "
              f"mean {a['mean_ms']} ms, {a['failed']} requests not answered 200")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
