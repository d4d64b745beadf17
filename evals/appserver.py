"""Starts the real app (`python app.py`) on a free loopback port, for tests, benchmarks and screenshots."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

from assistant.settings import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningApp:
    """The started app: its URL, data dir, log, environment and process."""

    base: str
    data_dir: Path
    log_path: Path
    env: dict
    proc: subprocess.Popen


@contextlib.contextmanager
def running_app(data_dir: Path, env: dict[str, str] | None = None, timeout: float = 600,
                ready: tuple[int, ...] = (200,), log_name: str = "server.log") -> Iterator[RunningApp]:
    """`python app.py` with the given ASSISTANT_* variables, yielded once /api/health answers a `ready` status."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = data_dir / log_name
    full_env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), "ASSISTANT_PORT": str(port),
                "ASSISTANT_HOST": "127.0.0.1", **(env or {})}
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=PROJECT_ROOT, env=full_env, stdout=log,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"app exited early:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/api/health", timeout=5).status_code in ready:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"app did not become healthy in time:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield RunningApp(base, data_dir, log_path, full_env, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
