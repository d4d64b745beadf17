"""Refreshes the README's screenshots of the web UI in headless Chromium (Playwright).

    python -m evals.screenshots                    # starts `python app.py` on a fresh index, writes evals/screenshots/
    python -m evals.screenshots --url http://127.0.0.1:7860 --data-dir .data   # an app already running

The staff screen needs a token: made with `python -m assistant.staff add` in the app's data dir.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from assistant.settings import PROJECT_ROOT
from evals.appserver import running_app
from evals.browser import ask, browser_available, chromium, open_ui, sign_in_as_staff

OUT = PROJECT_ROOT / "evals" / "screenshots"
SCREENS = {
    "answer-kk": "Соттылық туралы анықтаманы қалай алуға болады?",
    "answer-ru": "Как получить справку о несудимости?",
    "answer-en": "How do I register my place of residence?",
}
STAFF_QUESTION = "Как проверить доверенность у заявителя?"


def staff_token(env: dict) -> str:
    out = subprocess.run([sys.executable, "-m", "assistant.staff", "add", f"screenshots-{int(time.time())}"],
                         cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-1]


def take(base: str, out: Path, token: str | None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def shot(page, name: str) -> None:
        path = out / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        written.append(path)

    with chromium() as browser:
        page = open_ui(browser, base)
        shot(page, "start")
        page.context.close()
        for name, question in SCREENS.items():
            page = open_ui(browser, base)
            ask(page, question)
            if name == "answer-ru":  # the feedback control, after a 👍
                page.locator("#chat button[aria-label='Like']").last.click()
                page.wait_for_selector("#feedback-row", state="visible")
            shot(page, name)
            page.context.close()
        if token:
            page = open_ui(browser, base)
            sign_in_as_staff(page, token)
            ask(page, STAFF_QUESTION)
            shot(page, "staff")
            page.context.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an app already running (default: start one)")
    parser.add_argument("--data-dir", type=Path, help="that app's ASSISTANT_DATA_DIR, for a staff token")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if (why := browser_available()) is not None:
        print(f"error: {why}", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        if args.url:
            base = args.url.rstrip("/")
            env = {**os.environ, **({"ASSISTANT_DATA_DIR": str(args.data_dir)} if args.data_dir else {})}
            token = staff_token(env) if args.data_dir else None
        else:
            app_env = {"ASSISTANT_LLM": os.environ.get("ASSISTANT_LLM", "composer"),
                       "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0",
                       "ASSISTANT_EMBEDDING_CACHE": os.environ.get("ASSISTANT_EMBEDDING_CACHE", str(
                           PROJECT_ROOT / ".data" / "embedding_cache.sqlite"))}
            app = stack.enter_context(running_app(args.data_dir or Path(tempfile.mkdtemp(prefix="assistant-shots-")),
                                                  app_env, timeout=900, log_name="screenshots-app.log"))
            base, env = app.base, app.env
            token = staff_token(env)
        for path in take(base, args.out, token):
            print(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
