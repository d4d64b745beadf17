"""Serve the assistant: `python app.py` → API at /api, web UI at /, on ASSISTANT_HOST:ASSISTANT_PORT."""
from __future__ import annotations

import logging
import sys

import uvicorn
from fastapi import FastAPI

from assistant.api import create_api
from assistant.pii import install_log_redaction
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.store import StoreUnavailable


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """The full application: API routes plus the Gradio UI mounted at `/`."""
    settings = settings or Settings()
    assistant = assistant or Assistant(settings)
    try:
        assistant.retriever.warm()
    except StoreUnavailable as exc:  # built on the first request once the store is back
        logging.getLogger("app").error("lexical index not built at start: %s", exc)
    app = create_api(assistant)
    if settings.ui:
        import gradio as gr

        from assistant.ui import build_ui

        app = gr.mount_gradio_app(app, build_ui(assistant), path="/")
    return app


def main() -> int:
    install_log_redaction()  # before the first log line: no IIN, phone, card, IBAN or e-mail in any log
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    assistant = Assistant(settings)
    if settings.ingest_on_start:
        try:
            report = assistant.ingest()
            print(f"ingest: {report.summary()}", file=sys.stderr)
        except StoreUnavailable as exc:
            # A replica must not crash-loop while its Chroma server restarts: it serves 503s and recovers.
            logging.getLogger("app").error("startup ingest skipped: %s", exc)
    uvicorn.run(create_app(settings, assistant), host=settings.host, port=settings.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
