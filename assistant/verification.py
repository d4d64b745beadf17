"""Checks a generated answer before a citizen sees it (after France's Albert: whitelist, never trust).

Every `[n]` must name a given source; every URL, phone number and money amount must be written in
a source the answer cites; the answer must be in the language asked for; and most words of each
sentence that are not the question's own must be found in its cited sources (a small model
otherwise adds "facts" no number or link betrays). The first failed rule names the fallback
reason recorded on the answer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.answer import Source
from assistant.lexical import document_tokens, query_tokens
from assistant.messages import REFUSAL

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'«»)\]]+|\b(?:[a-z0-9-]+\.)+(?:kz|ru|com|org|gov|net|рф|қаз)(?:/[^\s<>\"'«»)\]]*)?",
                 re.I)
# +7 / 8 numbers of 11 digits with any separators, and short service numbers after a cue word.
PHONE = re.compile(r"(?<![\w.,])(?:\+\s?7|8)[\s\-(]*\d{3}[\s\-)]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}(?![\d])")
SHORT_PHONE = re.compile(
    r"(?:номер\w*|телефон\w*|звон\w*|позвон\w*|контакт-центр\w*|колл-центр\w*|call\w*|phone\w*|hotline|"
    r"нөмір\w*|қоңырау\w*|байланыс орталығ\w*)\D{0,20}?(\d{3,4}|\d{3}[\s-]\d{2}[\s-]\d{2})(?!\d)", re.I)
_NUMBER = r"\d+(?:[ \u00a0\u202f]\d{3})*(?:[.,]\d+)?"
CURRENCY = {
    "kzt": r"тенге|теңге|тг\.?|₸|kzt|tenge",
    "mci": r"мрп|аек|mci|mrp|месячн\w* расчетн\w* показател\w*|айлық есептік көрсеткіш\w*|monthly calculation index",
    "rub": r"руб\w*|₽",
    "usd": r"usd|\$|доллар\w*|dollars?",
    "eur": r"eur|€|евро|euros?",
}
_UNIT = "|".join(f"(?P<{k}>{v})" for k, v in CURRENCY.items())
MONEY_AFTER = re.compile(rf"(?P<amount>{_NUMBER})\s*(?:млн\.?|тыс\.?|thousand|million)?\s*(?:{_UNIT})(?![\w])", re.I)
MONEY_BEFORE = re.compile(rf"(?:[$€₸₽])\s*(?P<amount>{_NUMBER})", re.I)
_KAZAKH = set("әғқңөұүһі")
# What the assistant says in its own voice (contact centre, portal) needs no source.
OWN_VOICE = " ".join(REFUSAL.values())


@dataclass
class Verdict:
    """The answer passes (`reason` None) or names the first rule it broke, with details for the log."""

    reason: str | None = None
    problems: list[str] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reason is None

    def fail(self, reason: str, problem: str) -> None:
        self.reason = self.reason or reason
        self.problems.append(problem)


def cited_numbers(text: str) -> list[int]:
    """Source numbers in order of first citation ("[1, 3]" cites both)."""
    out: list[int] = []
    for group in MARKER.findall(text):
        for n in re.split(r"\s*,\s*", group):
            if int(n) not in out:
                out.append(int(n))
    return out


def _strip_markers(text: str) -> str:
    return MARKER.sub(" ", text)


def urls(text: str) -> list[str]:
    return [u.rstrip(".,;:!?") for u in URL.findall(_strip_markers(text))]


def _url_key(url: str) -> str:
    return re.sub(r"^(?:https?://)?(?:www\.)?", "", url.lower()).rstrip("/")


def _digits(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return "7" + digits[1:] if len(digits) == 11 and digits[0] in "78" else digits


def phones(text: str) -> list[str]:
    text = _strip_markers(text)
    found = [_digits(m.group(0)) for m in PHONE.finditer(text)]
    found += [_digits(m.group(1)) for m in SHORT_PHONE.finditer(text)]
    return list(dict.fromkeys(found))


def _amount_value(raw: str) -> str:
    value = re.sub(r"[ \u00a0\u202f]", "", raw).replace(",", ".")
    return value.rstrip("0").rstrip(".") if "." in value else value


def money(text: str) -> list[tuple[str, str]]:
    """(amount, currency) pairs: "0,5 МРП" → ("0.5", "mci"), "2 000 тенге" → ("2000", "kzt")."""
    text = _strip_markers(text)
    found = []
    for m in MONEY_AFTER.finditer(text):
        unit = next(k for k in CURRENCY if m.group(k))
        found.append((_amount_value(m.group("amount")), unit))
    for m in MONEY_BEFORE.finditer(text):
        unit = {"$": "usd", "€": "eur", "₸": "kzt", "₽": "rub"}[m.group(0).strip()[0]]
        found.append((_amount_value(m.group("amount")), unit))
    return list(dict.fromkeys(found))


def answer_language_ok(text: str, lang: str) -> bool:
    """Letters of the answer (markers, URLs and codes removed) are mostly in the asked-for script."""
    plain = URL.sub(" ", _strip_markers(text)).lower()
    letters = [c for c in plain if c.isalpha()]
    if len(letters) < 12:
        return True  # too short to judge
    cyrillic = sum(1 for c in letters if "а" <= c <= "я" or c == "ё" or c in _KAZAKH)
    latin = sum(1 for c in letters if "a" <= c <= "z")
    kazakh = sum(1 for c in letters if c in _KAZAKH)
    if lang == "en":
        return latin >= 0.75 * len(letters)
    if cyrillic < 0.75 * len(letters):
        return False
    if lang == "ru":
        return kazakh <= 0.01 * cyrillic
    return kazakh >= 0.01 * cyrillic  # Kazakh prose uses its own letters in nearly every sentence


# Words of the assistant's own voice that no source needs to contain.
_VOICE_WORDS = ("звоните позвоните обратитесь обращайтесь можно нужно необходимо следует также однако "
                "call contact visit also however possible needed required should "
                "хабарласыңыз жүгініңіз болады қажет сондай-ақ")
_GROUP = re.compile(r"(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")


@dataclass
class Claim:
    """A stretch of answer text and the sources it cites: the text up to a marker group, or a paragraph's rest."""

    text: str
    cites: list[int]
    marker: tuple[int, int] | None  # where its marker group sits in the answer


def claims(text: str) -> list[Claim]:
    out: list[Claim] = []
    offset = 0
    for paragraph in text.split("\n"):
        start = 0
        paragraph_cites = cited_numbers(paragraph)
        for m in _GROUP.finditer(paragraph):
            out.append(Claim(paragraph[start:m.start()], cited_numbers(m.group(0)),
                             (offset + m.start(), offset + m.end())))
            start = m.end()
        rest = paragraph[start:]
        if re.search(r"[^\W\d_]", rest):
            out.append(Claim(rest, paragraph_cites, None))
        offset += len(paragraph) + 1
    return out


class _Support:
    """Which content words of a claim its sources do not contain."""

    def __init__(self, sources: list[Source], lang: str, question: str):
        self.by_n = {s.n: s for s in sources}
        self.lang = lang
        self.asked = set(document_tokens(f"{question} {_VOICE_WORDS}", lang)) | set(query_tokens(question))
        self._tokens: dict[int, set[str]] = {}

    def tokens(self, n: int) -> set[str]:
        if n not in self._tokens:
            s = self.by_n[n]
            self._tokens[n] = set(document_tokens(f"{s.title} {s.section} {s.text}", self.lang))
        return self._tokens[n]

    def supported(self, claim_text: str, cites: list[int]) -> bool:
        if URL.search(claim_text):
            return True  # a link line: its URL is checked by the URL rule
        known = set().union(*(self.tokens(n) for n in cites if n in self.by_n)) if cites else set()
        content = [t for t in document_tokens(_strip_markers(claim_text), self.lang)
                   if len(t) >= 4 and not t.isdigit() and t not in self.asked]
        novel = [t for t in content if t not in known]
        return not content or len(novel) * 2 <= len(content)


def unsupported_sentences(text: str, sources: list[Source], lang: str, question: str = "") -> list[str]:
    """Claims most of whose content words (stemmed, 4+ letters, not from the question) their cited sources lack."""
    support = _Support(sources, lang, question)
    answer_cites = [n for n in cited_numbers(text) if n in support.by_n]
    return [c.text.strip() for c in claims(text)
            if not support.supported(c.text, [n for n in c.cites if n in support.by_n] or answer_cites)]


def faithfulness(text: str, sources: list[Source], lang: str, question: str = "") -> float:
    """Share of a generated answer's claims that their cited sources support (paraphrase allowed)."""
    worded = [c for c in claims(text) if re.search(r"[^\W\d_]{4,}", c.text)]
    if not worded:
        return 1.0
    return round(1 - len(unsupported_sentences(text, sources, lang, question)) / len(worded), 4)


def recite(text: str, sources: list[Source], lang: str, question: str = "") -> str:
    """Moves a claim's marker to the one given source that does support it when the cited one does not.

    A small model often numbers the right fact with the wrong source; the citizen should be sent
    to the source that says it. A claim no source supports is left as it is (and then fails).
    """
    support = _Support(sources, lang, question)
    edits = []
    for claim in claims(text):
        if claim.marker is None or support.supported(claim.text, claim.cites):
            continue
        better = [s.n for s in sources if support.supported(claim.text, [s.n])]
        if better:
            edits.append((claim.marker, f" [{better[0]}]"))
    for (start, end), marker in reversed(edits):
        text = text[:start] + marker + text[end:]
    return text


def verify_answer(text: str, sources: list[Source], lang: str, question: str = "") -> Verdict:
    """Runs every rule; `reason` is the first failure in the order below."""
    verdict = Verdict()
    if not text.strip():
        verdict.fail("empty_answer", "the model returned nothing")
        return verdict
    by_n = {s.n: s for s in sources}
    numbers = cited_numbers(text)
    verdict.cited = [n for n in numbers if n in by_n]
    for n in numbers:
        if n not in by_n:
            verdict.fail("bad_citation", f"[{n}] names no source (have {sorted(by_n)})")
    if not verdict.cited:
        verdict.fail("uncited", "the answer cites no source")
    cited = [by_n[n] for n in verdict.cited]
    haystack = "\n".join(f"{s.url}\n{s.text}" for s in cited)
    allowed_urls = {_url_key(u) for u in urls(haystack) + urls(OWN_VOICE)} | {_url_key(s.url) for s in cited if s.url}
    for url in urls(text):
        key = _url_key(url)
        if key not in allowed_urls and not any(a.startswith(key) for a in allowed_urls if len(key) > 12):
            verdict.fail("uncited_url", f"URL not in a cited source: {url}")
    source_digits = re.sub(r"(?<=\d)[\s\-().]+(?=\d)", "", haystack + " " + OWN_VOICE)
    for phone in phones(text):
        pattern = rf"(?<!\d)\+?[78]?{phone[1:]}(?!\d)" if len(phone) == 11 else rf"(?<!\d){phone}(?!\d)"
        if not re.search(pattern, source_digits):
            verdict.fail("uncited_phone", f"phone number not in a cited source: {phone}")
    allowed_money = set(money(haystack))
    for amount in money(text):
        if amount not in allowed_money:
            verdict.fail("uncited_amount", f"amount not in a cited source: {amount[0]} {amount[1]}")
    if not answer_language_ok(text, lang):
        verdict.fail("wrong_language", f"the answer is not in {lang!r}")
    for sentence in unsupported_sentences(text, sources, lang, question):
        verdict.fail("unsupported_claim", f"not found in the cited sources: {sentence[:100]}")
    return verdict
