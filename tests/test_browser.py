"""The web UI in a real browser (Debian's headless Chromium, driven by Playwright): what a citizen and a
clerk see and click. Skips when /usr/bin/chromium is absent (`.ci/run` installs it)."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx
import pytest

from assistant.settings import PROJECT_ROOT
from assistant.ui import EXAMPLES_BY_LANG
from evals.browser import (IDLE, ask, browser_available, choose_language, chromium, last_answer, open_ui,
                           sign_in_as_staff)

pytestmark = [pytest.mark.slow, pytest.mark.skipif(browser_available() is not None,
                                                   reason=browser_available() or "")]

KAZAKH = re.compile(r"[әғқңөұүһі]", re.I)
CYRILLIC = re.compile(r"[а-яё]", re.I)
QUESTIONS = {
    "kk": ("Соттылық туралы анықтаманы қалай алуға болады?", "Қызмет", "Дереккөздер", "egov.kz-те ашу"),
    "ru": ("Как получить справку о несудимости?", "Услуга", "Источники", "Открыть на egov.kz"),
    "en": ("How do I get a certificate of no criminal record?", "Service", "Sources", "Open on egov.kz"),
}


def written_in(lang: str, text: str) -> bool:
    """Mostly in that language's script (a Russian acronym such as ЦОН may stand in an English answer)."""
    text = re.sub(r"https?://\S+", "", text)
    latin, cyrillic = len(re.findall(r"[a-z]", text, re.I)), len(CYRILLIC.findall(text)) + len(KAZAKH.findall(text))
    if lang == "en":
        return latin > 4 * cyrillic
    mostly_cyrillic = cyrillic > 4 * latin
    return mostly_cyrillic and bool(KAZAKH.search(text)) == (lang == "kk")


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def test_start_screen_offers_examples_in_each_language(browser, live_server):
    page = open_ui(browser, live_server)
    for lang, questions in EXAMPLES_BY_LANG.items():
        shown = page.inner_text(f"#examples-{lang}")
        assert all(q in shown for q in questions), lang
    assert not page.locator(".service-banner").is_visible()  # the server is up: no warning
    # An example fills the question box and is answered from the corpus.
    page.locator("#examples-en button", has_text=EXAMPLES_BY_LANG["en"][0]).click()
    page.wait_for_function("([q]) => document.querySelector('#question textarea').value === q",
                           arg=[EXAMPLES_BY_LANG["en"][0]])
    page.click("#send")
    page.wait_for_selector("#sources a")
    page.context.close()


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_citizen_asks_and_sees_answer_sources_and_a_working_service_link(browser, live_server, lang):
    question, service_label, sources_label, open_label = QUESTIONS[lang]
    page = open_ui(browser, live_server)
    ask(page, question)

    answer = last_answer(page)
    assert written_in(lang, answer) and re.search(r"\[\d+\]", answer), answer[:300]
    sources = page.locator("#sources a")
    assert sources_label in page.inner_text("#sources") and sources.count() >= 1
    assert all(sources.nth(i).get_attribute("href").startswith("http") for i in range(sources.count()))
    card = page.inner_text("#service-card")
    assert service_label in card and "e_004" in card

    expected = httpx.post(f"{live_server}/api/ask", json={"question": question}, timeout=120).json()["services"][0]
    link = page.locator("a#service-link")
    assert link.is_visible() and open_label in link.inner_text()
    href = link.get_attribute("href")
    assert href == expected["url"] and re.fullmatch(r"https://egov\.kz/cms/\w\w/online-services/.+/e_004", href)
    # The link really navigates there (egov.kz is answered by a stub: the test machine is offline).
    page.route("https://egov.kz/**", lambda route: route.fulfill(status=200, content_type="text/html",
                                                                   body="<title>egov.kz stub</title>"))
    link.click()
    page.wait_for_url(href)
    assert page.title() == "egov.kz stub"
    page.context.close()


def test_switching_the_language_answers_in_it_and_shows_its_examples(browser, live_server):
    page = open_ui(browser, live_server)
    choose_language(page, "English")
    assert page.locator("#examples-en").is_visible() and not page.locator("#examples-ru").is_visible()
    ask(page, "Как получить справку о несудимости?")  # asked in Russian, answered in English
    assert written_in("en", last_answer(page))
    assert "Sources" in page.inner_text("#sources") and "Service" in page.inner_text("#service-card")

    choose_language(page, "Қазақша")
    ask(page, "How do I get a certificate of no criminal record?")
    assert written_in("kk", last_answer(page))
    assert "Дереккөздер" in page.inner_text("#sources")
    page.context.close()


def run_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True)


def test_feedback_thumbs_and_comment_are_stored_redacted_and_exported(browser, live_app):
    page = open_ui(browser, live_app.base)
    question = "Как получить справку о несудимости? Мой телефон +7 701 123 45 67"
    ask(page, question)
    page.locator("#chat button[aria-label='Dislike']").last.click()
    page.wait_for_selector("#feedback-row", state="visible")
    page.fill("#feedback-comment textarea", "Не нашёл стоимость, перезвоните на +7 701 765 43 21")
    page.click("#feedback-send")
    page.wait_for_function("() => document.querySelector('#feedback-status').innerText.includes('сохранён')")

    exported = run_cli("assistant.feedback", "export", "--db", str(live_app.data_dir / "feedback.sqlite"),
                       env=live_app.env).stdout
    rows = [json.loads(line) for line in exported.splitlines()]
    mine = [r for r in rows if r["comment"].startswith("Не нашёл стоимость")]
    assert len(mine) == 1
    row = mine[0]
    assert row["rating"] == "down" and row["channel"] == "ui" and row["lang"] == "ru"
    assert row["question_id"] and row["answer_id"] and "справку о несудимости" in row["question"]
    assert "701" not in row["question"] + row["comment"] and "[PHONE]" in row["comment"]
    assert "[1]" in row["answer"]
    page.context.close()


def test_a_server_that_goes_away_is_announced_on_the_page(browser, live_server):
    page = open_ui(browser, live_server)
    page.route("**/api/health", lambda route: route.abort())  # as the browser sees a dead server
    page.reload()
    page.wait_for_selector(".service-banner", state="visible")
    assert "temporarily unavailable" in page.inner_text(".service-banner")
    page.unroute("**/api/health")
    page.context.close()


def test_staff_sign_in_shows_staff_content_and_a_citizen_session_does_not(browser, live_app):
    from tests.test_staff_access import STAFF_TITLES

    token = run_cli("assistant.staff", "add", "clerk-browser", env=live_app.env).stdout.strip().splitlines()[-1]
    question = "Как проверить доверенность у заявителя?"

    clerk = open_ui(browser, live_app.base)
    assert "clerk-browser" in sign_in_as_staff(clerk, token)
    ask(clerk, question)
    staff_sources = [t for t in STAFF_TITLES if t in clerk.inner_text("#sources")]
    assert staff_sources, clerk.inner_text("#sources")

    citizen = open_ui(browser, live_app.base)  # another browser session, at the same time
    ask(citizen, question)
    seen = citizen.inner_text("#sources") + citizen.inner_text("#chat")
    assert not [t for t in STAFF_TITLES if t in seen]
    citizen.click("#staff-sign-in .label-wrap")  # the accordion renders its content once opened
    assert "as a citizen" in citizen.inner_text("#staff-status")
    clerk.context.close()
    citizen.context.close()


def test_a_clarification_shows_buttons_and_a_click_answers_about_that_service(browser, live_server):
    from tests.test_routing_trust import CLARIFYING_CANDIDATES

    page = open_ui(browser, live_server)
    for lang, question in CLARIFYING_CANDIDATES:
        ask(page, question)
        if page.locator("#choice-0").is_visible():
            break
    else:
        pytest.fail("no clarification among the candidates")
    assert page.locator("#choice-1").is_visible()
    title = page.locator("#choice-1").inner_text().strip()
    assert title and title in last_answer(page)
    assert page.inner_text("#sources").strip() == ""  # a question back, not an answer
    before = page.locator("#chat [data-testid='bot']").count()
    page.click("#choice-1")
    page.wait_for_function("([n]) => document.querySelectorAll(\"#chat [data-testid='bot']\").length > n", arg=[before])
    page.wait_for_function(IDLE)
    page.wait_for_timeout(300)
    assert re.search(r"\[\d+\]", last_answer(page))
    assert page.locator("#sources a").count() >= 1
    assert title in page.inner_text("#service-card")
    assert not page.locator("#choice-0").is_visible()  # answered: the choices are gone
    page.context.close()
