"""Load test of `/api/ask` with Locust (as a library), on loopback only and bounded in time.

    python -m evals.load                         # 20 users for 120 s against a fresh `python app.py`
    python -m evals.load --users 20 --duration 20 --out evals/out/load-ci
    python -m evals.load --url http://127.0.0.1:7860   # an app that is already running (127.0.0.1 only)

Each simulated citizen asks the dev set's questions (kk/ru/en, routing and refusals alike) with a
think time of 0.5–1.5 s; the composer answers (ASSISTANT_LLM=composer), the rate limiter is lifted
for the run because every user comes from 127.0.0.1. The report gives requests, errors, throughput
and latency percentiles, overall and per language; the exit code is 1 when any request failed.
"""
from __future__ import annotations

# Locust patches the whole process with gevent when imported, so it comes first, and this module is
# only ever run as its own process (`python -m evals.load`), never imported by the app or the tests.
import gevent
from locust import FastHttpUser, between, task
from locust.env import Environment

import argparse
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

from assistant.settings import PROJECT_ROOT
from evals.appserver import running_app

DEV_SET = PROJECT_ROOT / "evals" / "datasets" / "dev.jsonl"
STATUSES = {"answered", "unanswerable_no_sources", "guardrail", "error", "clarification",
            "unanswerable_llm_could_not_answer"}


def questions() -> list[dict]:
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"question": r["question"], "lang": r.get("lang", "ru")} for r in rows if r.get("audience", "public") == "public"]


def run_locust(base: str, users: int, spawn_rate: float, duration: float, seed: int, fresh: bool = False) -> dict:
    """Runs the users in this process, as greenlets. `fresh` numbers every question so that none is
    ever asked twice (the app keeps recent query vectors; real traffic repeats popular questions)."""
    pool = questions()
    rng = random.Random(seed)
    counter = iter(range(10**9))

    class Citizen(FastHttpUser):
        host = base
        wait_time = between(0.5, 1.5)

        @task
        def ask(self) -> None:
            q = rng.choice(pool)
            text = f"{q['question']} ({next(counter)})" if fresh else q["question"]
            with self.client.post("/api/ask", json={"question": text}, name=f"/api/ask [{q['lang']}]",
                                  catch_response=True, timeout=60) as r:
                if r.status_code != 200:
                    r.failure(f"HTTP {r.status_code}: {r.text[:200]}")
                    return
                body = r.json()
                if body.get("status") not in STATUSES or not body.get("answer"):
                    r.failure(f"malformed answer: {str(body)[:200]}")

    env = Environment(user_classes=[Citizen])
    runner = env.create_local_runner()
    started = time.time()
    runner.start(users, spawn_rate=spawn_rate)
    gevent.spawn_later(duration, runner.quit)
    runner.greenlet.join()
    elapsed = time.time() - started

    def summary(entry) -> dict:
        pct = entry.get_response_time_percentile
        return {"requests": entry.num_requests, "failures": entry.num_failures,
                "rps": round(entry.num_requests / elapsed, 2) if elapsed else 0.0,
                "p50_ms": round(pct(0.5) or 0, 1), "p95_ms": round(pct(0.95) or 0, 1), "p99_ms": round(pct(0.99) or 0, 1),
                "max_ms": round(entry.max_response_time or 0, 1), "mean_ms": round(entry.avg_response_time or 0, 1)}

    return {
        "users": users, "duration_s": round(elapsed, 1), "target": base, "fresh_questions": fresh,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "total": summary(env.stats.total),
        "per_language": {name.split("[")[-1].rstrip("]"): summary(entry)
                         for (name, _method), entry in sorted(env.stats.entries.items())},
        "errors": [{"name": e.name, "error": str(e.error)[:300], "count": e.occurrences}
                   for e in env.stats.errors.values()],
    }


def markdown(report: dict) -> str:
    rows = [("all", report["total"])] + list(report["per_language"].items())
    kind = "every question new" if report["fresh_questions"] else "dev-set questions, repeats allowed"
    lines = [f"# Load test: {report['users']} users for {report['duration_s']} s (composer, loopback, {kind})", "",
             "| requests | errors | req/s | p50 ms | p95 ms | p99 ms | max ms | language |",
             "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, s in rows:
        lines.append(f"| {s['requests']} | {s['failures']} | {s['rps']} | {s['p50_ms']} | {s['p95_ms']} | "
                     f"{s['p99_ms']} | {s['max_ms']} | {name} |")
    lines += ["", f"Load average (1 min) at the end, other work on the machine included: {report['load_average_1min']}"]
    if report["errors"]:
        lines += ["", "Errors:"] + [f"- {e['count']}× {e['name']}: {e['error']}" for e in report["errors"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="users started per second")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load, after all users started")
    parser.add_argument("--url", help="an app already running on 127.0.0.1 (default: start one)")
    parser.add_argument("--data-dir", type=Path, help="index folder for the app started here (default: a temp dir)")
    parser.add_argument("--embedding-cache", type=Path, help="vector cache for that app's first ingest")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "evals" / "out" / "load")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fresh-questions", action="store_true",
                        help="number each question so none repeats (no query-vector cache hits)")
    args = parser.parse_args(argv)
    if args.url and urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the load test runs on loopback only")

    with contextlib.ExitStack() as stack:
        if args.url:
            base = args.url.rstrip("/")
        else:
            data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="assistant-load-"))
            print(f"starting the app on an index in {data_dir} …", file=sys.stderr)
            env = {"ASSISTANT_LLM": "composer", "ASSISTANT_UI": "false", "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0"}
            if args.embedding_cache:
                env["ASSISTANT_EMBEDDING_CACHE"] = str(args.embedding_cache)
            base = stack.enter_context(running_app(data_dir, env, timeout=900, log_name="load-server.log")).base
        # Warm up: the first question builds the lexical index.
        httpx.post(f"{base}/api/ask", json={"question": "Как получить справку о несудимости?"}, timeout=300)
        ramp = args.users / args.spawn_rate
        report = run_locust(base, args.users, args.spawn_rate, ramp + args.duration, args.seed, args.fresh_questions)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    (args.out / "load.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    print(f"report: {args.out / 'load.md'}", file=sys.stderr)
    return 0 if report["total"]["failures"] == 0 and report["total"]["requests"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
