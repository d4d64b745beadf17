"""Driving the web UI in Debian's headless Chromium with Playwright: shared by tests/test_browser.py
and the screenshot script (`python -m evals.screenshots`).

Playwright's own browser download is never used: `apt-get install chromium` provides /usr/bin/chromium.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

CHROMIUM = Path(os.environ.get("ASSISTANT_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this network refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 1000}


def browser_available() -> str | None:
    """None when the browser tests can run, else why not."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless Debian Chromium under Playwright; yields the Browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_ui(browser, base: str, locale: str = "en-US"):
    """A fresh citizen session (its own context: no cookies or storage shared) on the start screen; the
    locale sets the language of Gradio's own labels (the tests find the Like button by its English name)."""
    context = browser.new_context(viewport=VIEWPORT, locale=locale)
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(base.rstrip("/") + "/")
    page.wait_for_selector("#question textarea")
    return page


def ask(page, question: str) -> None:
    """Types the question, sends it and waits until the final answer is on screen."""
    before = page.locator("#chat [data-testid='bot']").count()
    page.fill("#question textarea", question)
    page.click("#send")
    page.wait_for_function("([n]) => document.querySelectorAll(\"#chat [data-testid='bot']\").length > n", arg=[before])
    page.wait_for_function(IDLE)
    page.wait_for_timeout(300)


# The chat's status tracker hides, and its pending/generating marks go, once the last update has arrived.
IDLE = """() => {
  const chat = document.querySelector('#chat');
  const tracker = chat && chat.querySelector('[data-testid="status-tracker"]');
  return chat && !chat.querySelector('.pending, .generating') && !chat.classList.contains('generating')
         && (!tracker || tracker.classList.contains('hide'));
}"""


def last_answer(page) -> str:
    bot = page.locator("#chat [data-testid='bot']")
    return bot.nth(bot.count() - 1).inner_text()


def choose_language(page, label: str) -> None:
    """Picks an entry of the Language dropdown by its label (Auto, Қазақша, Русский, English)."""
    page.click("#lang input")
    page.locator("ul[role='listbox'] li", has_text=label).first.click()
    page.wait_for_timeout(300)


def sign_in_as_staff(page, token: str) -> str:
    page.click("#staff-sign-in .label-wrap")
    page.fill("#staff-token input, #staff-token textarea", token)
    page.click("#staff-sign-in-button")
    page.wait_for_function("() => document.querySelector('#staff-status').innerText.includes('Signed in')")
    return page.inner_text("#staff-status")
