"""Real HTTP servers for the LLM tests: llama-cpp-python's OpenAI-compatible server, a scripted
OpenAI-compatible server for the failure paths only (hang, stall, HTTP 500, a model that invents a
link), and the API in-process under uvicorn."""
from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import httpx
import uvicorn

from tests.servers import free_port


class LlamaCppServer:
    """`python -m llama_cpp.server --model FILE` on 127.0.0.1, as a deployment would run it."""

    alias = "qwen2.5-1.5b-instruct"

    def __init__(self, model: Path, log_dir: Path):
        self.model = model
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = log_dir / f"llama-server-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> "LlamaCppServer":
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--model_alias", self.alias,
                 "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "4096", "--n_threads", "2"],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited early:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("llama_cpp.server did not start in time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)


def _chunk(content: str) -> bytes:
    body = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "scripted",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": None}]}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()


class ScriptedOpenAIServer:
    """A real HTTP server speaking the OpenAI chat API, misbehaving on purpose.

    mode: "hang" (accepts, never answers), "stall" (two tokens, then silence), "error" (HTTP 500),
    "say" (streams `text` word by word, as a model that wrote it would).
    """

    def __init__(self, mode: str, text: str = ""):
        self.mode, self.text = mode, text
        self.requests = 0
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                server.requests += 1
                self.rfile.read(int(self.headers.get("content-length", 0)))
                if server.mode == "hang":
                    server.release.wait(60)
                    return
                if server.mode == "error":
                    payload = b'{"error": {"message": "model crashed", "type": "server_error"}}'
                    self.send_response(500)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                words = ["Справка ", "о "] if server.mode == "stall" else [w + " " for w in server.text.split(" ")]
                for word in words:
                    self.wfile.write(_chunk(word))
                    self.wfile.flush()
                if server.mode == "stall":
                    server.release.wait(60)
                    return
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> "ScriptedOpenAIServer":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def serve_api(app) -> Iterator[str]:
    """The FastAPI app under a real uvicorn on a free port, in this process; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def read_sse(response: httpx.Response) -> list[tuple[str, dict]]:
    """(event, data) pairs of a Server-Sent Events response, in order."""
    events, name, data = [], "message", []
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            events.append((name, json.loads("\n".join(data))))
            name, data = "message", []
    return events
