"""Language detection and the Kazakh-aware lexical normaliser."""
from __future__ import annotations

import pytest

from assistant.language import detect_language
from assistant.lexical import LexicalIndex, document_tokens, kazakh_stem, query_tokens


@pytest.mark.parametrize("text,lang", [
    ("Как получить справку о несудимости?", "ru"),
    ("Соттылық туралы анықтаманы қалай алуға болады?", "kk"),
    ("маган аныктама керек", "kk"),  # Kazakh typed without Kazakh letters
    ("anyqtama kerek", "kk"),
    ("spravka o nesudimosti kak poluchit", "ru"),
    ("How do I register my address?", "en"),
])
def test_detect_language(text, lang):
    assert detect_language(text) == lang


@pytest.mark.parametrize("forms", [
    ["анықтама", "анықтаманы", "анықтамасын", "аныктама"],
    ["куәлік", "куәлігі", "куәлігін"],
    ["тіркеу", "тіркеуге"],
    ["жәрдемақы", "жәрдемақысын"],
])
def test_kazakh_inflections_share_a_stem(forms):
    assert len({kazakh_stem(f) for f in forms}) == 1


def test_latin_script_query_reaches_cyrillic_documents():
    docs = ["Справка о несудимости", "Прописка по месту жительства", "Пособие на рождение ребенка"]
    index = LexicalIndex(["a", "b", "c"], [document_tokens(d, "ru") for d in docs])
    assert index.search(query_tokens("spravka o nesudimosti"), 3)[0][0] == "a"
    assert index.search(query_tokens("propiska"), 3)[0][0] == "b"


def test_kazakh_query_without_kazakh_letters_matches_kazakh_text():
    docs = ["Сотталмағандығы туралы анықтама", "Жүргізуші куәлігін беру"]
    index = LexicalIndex(["a", "b"], [document_tokens(d, "kk") for d in docs])
    assert index.search(query_tokens("жургизуши куалигин алу"), 2)[0][0] == "b"
