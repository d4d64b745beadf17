"""Real servers for tests: a Chroma server (`chroma run`) and the app (`python app.py`), on free ports."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx

from assistant.settings import PROJECT_ROOT
from evals.appserver import RunningApp, free_port
from evals.appserver import running_app as _running_app

# One vector cache for every test index: identical text is embedded once per machine, not per test.
EMBED_CACHE = Path(os.environ.get("ASSISTANT_TEST_EMBED_CACHE", PROJECT_ROOT / ".data" / "test-embedding-cache.sqlite"))


def chroma_cli() -> str | None:
    """The `chroma` command that comes with the chromadb package (next to this Python first)."""
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.exists() else shutil.which("chroma")


class ChromaServer:
    """`chroma run` on 127.0.0.1; stop() and start() again on the same port and folder, as an operator would."""

    def __init__(self, path: Path, port: int | None = None):
        self.path = path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = path.parent / f"chroma-{self.port}.log"

    def start(self, timeout: float = 60) -> "ChromaServer":
        cli = chroma_cli()
        if cli is None:
            raise RuntimeError("the chroma CLI (from the chromadb package) is not installed")
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([cli, "run", "--host", "127.0.0.1", "--port", str(self.port),
                                      "--path", str(self.path)], stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma exited early:\n{self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("chroma did not start in time")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        # The port must be free again before a restart binds it.
        deadline = time.time() + 10
        while time.time() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                time.sleep(0.2)
                continue
            break


def app_env(**extra: str) -> dict[str, str]:
    """Test defaults: the shared vector cache, and limits high enough for a suite sending many requests."""
    # tests/test_abuse.py checks the limiter itself.
    env = {"ASSISTANT_EMBEDDING_CACHE": str(EMBED_CACHE),
           "ASSISTANT_RATE_LIMIT_PER_MINUTE": "100000", "ASSISTANT_RATE_LIMIT_BURST": "100000"}
    env.update(extra)
    return env


@contextlib.contextmanager
def running_app(data_dir: Path, timeout: float = 600, ready: tuple[int, ...] = (200,),
                **extra_env: str) -> Iterator[RunningApp]:
    """`python app.py` with the test defaults plus the given ASSISTANT_* variables."""
    with _running_app(data_dir, app_env(**extra_env), timeout=timeout, ready=ready) as app:
        yield app
