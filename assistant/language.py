"""Which language a citizen wrote in: Kazakh has letters of its own; cue words settle the rest."""
from __future__ import annotations

import re

KAZAKH_LETTERS = set("әғқңөұүһі")
_CYR = re.compile(r"[а-яё]", re.I)
_LAT = re.compile(r"[a-z]", re.I)
_WORD = re.compile(r"[^\W\d_]+", re.U)

# Frequent Kazakh words as typed without Kazakh letters (or in Latin script).
KAZAKH_CUES = {
    "калай", "кайда", "керек", "алу", "алуга", "беру", "туралы", "ушин", "маган", "менин", "бала", "баланы",
    "жане", "немесе", "кандай", "канша", "кашан", "берiнiз", "бериниз", "аныктама", "аныктаманы", "тиркеу",
    "жардемакы", "зейнетакы", "отиниш", "кужат", "кужаттар", "бар", "жок", "ма", "ме", "ба", "бе", "саламатсыз",
    "salem", "qalai", "qalay", "kerek", "anyqtama", "anyktama", "qaida", "qaida", "tirkeu", "alu", "uşin", "ushin",
    "maǵan", "magan", "bala", "qujat", "kujat", "zeinetaqy", "zheke", "jeke", "kuәlik", "kualik", "qyzmet",
    "ber", "beriniz", "turaly", "jane", "qandai", "kandai", "qansha", "kansha", "qashan", "kashan", "bolady",
}
ENGLISH_CUES = {
    "the", "how", "what", "where", "when", "can", "do", "does", "i", "my", "to", "get", "need", "for", "is",
    "a", "of", "and", "certificate", "apply", "register", "please", "child", "benefit", "want", "with", "me",
}
RUSSIAN_LATIN_CUES = {
    "kak", "gde", "mne", "nuzhno", "nado", "spravka", "spravku", "poluchit", "propiska", "rebenka", "kuda",
    "skolko", "stoit", "chto", "delat", "pasport", "prava", "posobie", "o", "na", "dlya", "po",
}


def detect_language(text: str, default: str = "ru") -> str:
    """'kk', 'ru' or 'en' for a question; Kazakh letters win, then cue words, then script."""
    lowered = text.lower()
    if KAZAKH_LETTERS & set(lowered):
        return "kk"
    words = _WORD.findall(lowered)
    if not words:
        return default
    cyr = sum(1 for w in words if _CYR.search(w))
    lat = sum(1 for w in words if _LAT.search(w))
    kk_hits = sum(1 for w in words if w in KAZAKH_CUES)
    if cyr >= lat:
        return "kk" if kk_hits >= max(1, cyr // 4) else "ru"
    en_hits = sum(1 for w in words if w in ENGLISH_CUES)
    ru_hits = sum(1 for w in words if w in RUSSIAN_LATIN_CUES)
    if kk_hits > en_hits and kk_hits >= ru_hits:
        return "kk"
    if ru_hits > en_hits:
        return "ru"
    return "en"
