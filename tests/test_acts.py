"""Answers from the acts: a question no e-service fits, answered with the points of an act's service standard."""
from __future__ import annotations

import pytest

from assistant.acts import standards
from assistant.answer import Status
from assistant.chunking import StructuredChunker
from assistant.citations import check_citations
from assistant.corpus import parse_regulation
from tests.conftest import REGULATIONS, needs_shared

PASSPORTS = "qriim--140840"  # МВД order № 267: passports and ID cards, address registration
EMIGRATION = "qriim--140870"  # МВД order № 259: exit documents for permanent residence abroad


@needs_shared
def test_a_service_standard_is_chunked_row_by_row_with_its_point_number():
    doc = parse_regulation(REGULATIONS / PASSPORTS / "rus.md", {})
    chunks = StructuredChunker().chunk(doc)
    term = [c for c in chunks if c.section.endswith("п. 3. Срок оказания государственной услуги")]
    assert term and term[0].section.startswith("«Выдача паспортов")
    assert "не позднее 15 (пятнадцати) рабочих дней" in term[0].body
    # the order approves four rules, each with its own standard
    assert len({c.section.split(" · ")[0] for c in chunks if " · п. " in c.section and "«" in c.section}) == 4


def _act_answer(assistant, question: str, act: str, lang: str, point: str):
    answer = assistant.ask(question)
    assert answer.lang == lang
    assert answer.status == Status.ANSWERED and not answer.refused and answer.basis == "act", answer.answer
    assert answer.services == []  # no e-service is claimed
    assert answer.sources and answer.sources[0].doc_id == f"act-{act}-{lang}"
    assert f"п. {point}." in answer.sources[0].section  # a point-level citation
    report = check_citations(answer.answer, answer.sources)
    assert report.ok and report.supported >= 3, report.problems
    source = answer.sources[0]
    assert source.date and f"{source.date} [1]" in answer.answer  # the edition quoted
    assert source.url.startswith("https://") and f"{source.url} [1]" in answer.answer  # the official text
    assert "1414" in answer.answer
    return answer


@needs_shared
def test_a_passport_term_is_answered_from_the_act_in_russian(assistant):
    answer = _act_answer(assistant, "Сколько дней делается паспорт?", PASSPORTS, "ru", "3")
    assert "15 (пятнадцати) рабочих дней" in answer.answer


@needs_shared
def test_an_id_card_term_is_answered_from_the_act_in_kazakh(assistant):
    answer = _act_answer(assistant, "Жеке куәлік қанша күнде дайын болады?", PASSPORTS, "kk", "3")
    assert "15 (он бес) жұмыс күні" in answer.answer


@needs_shared
def test_the_grounds_for_refusing_a_passport_are_quoted(assistant):
    _act_answer(assistant, "По каким основаниям могут отказать в выдаче паспорта?", PASSPORTS, "ru", "9")


@needs_shared
@pytest.mark.parametrize("question, lang", [
    ("Какие документы нужны для выезда на ПМЖ за границу?", "ru"),
    ("Шетелге тұрақты тұруға кету үшін қандай құжаттар керек?", "kk"),
])
def test_emigration_documents_are_answered_from_the_act(assistant, question, lang):
    _act_answer(assistant, question, EMIGRATION, lang, "8")


@needs_shared
@pytest.mark.parametrize("question", [
    "Сколько дней рассматривается жалоба на работника ЦОНа?",  # every act has an appeals chapter: not the subject
    "как приготовить плов с бараниной дома",
    "how long does a kazakh passport take?",  # the acts exist in kk and ru only: declined, not guessed
])
def test_a_question_that_only_shares_an_acts_words_is_still_declined(assistant, question):
    answer = assistant.ask(question)
    assert answer.basis != "act", answer.answer


@needs_shared
def test_every_act_pairs_its_standards_across_languages(assistant):
    """The Kazakh and Russian texts of an act have the same standards in the same order (the answer relies on it)."""
    for folder in sorted(p.name for p in REGULATIONS.iterdir() if p.is_dir()):
        kk = standards(assistant.composer._document(f"act-{folder}-kk"))[0]
        ru = standards(assistant.composer._document(f"act-{folder}-ru"))[0]
        assert len(kk) == len(ru) >= 1, folder
        assert all({r.meta["section"].split("п. ")[1].split(".")[0] for r in s.rows} >= {"3", "8"} for s in kk + ru), folder


def test_a_point_label_is_one_label_for_the_citation_check():
    """«п. 3.» inside a bold label must not split it into uncited fragments."""
    from assistant.answer import Source

    source = Source(1, "Act", "«Выдача паспортов» · п. 3. Срок", "https://adilet.zan.kz/x", "act-x-ru", "Срок 15 дней.")
    report = check_citations("**п. 3. Срок оказания государственной услуги**\nСрок 15 дней. [1]", [source])
    assert report.ok and report.supported == 1, report.problems
