"""Personal data in citizens' text: found, checked, and replaced before anything logs, stores or retrieves it.

Detection is airlock-pii's (Kazakh IIN/BIN, KZ IBAN, cards, +7 phones, e-mail, passwords); a number
that carries a check digit is kept only if the check holds here too, since airlock also masks a
12-digit number with a wrong check digit after the word "ИИН".
"""
from __future__ import annotations

import logging
import re
import traceback
from dataclasses import dataclass, field

from airlock_pii import EntityType, candidates
from airlock_pii.engine import resolve_overlaps

# What we redact, and the placeholder that takes its place in the text.
PLACEHOLDER = {
    EntityType.IIN: "[IIN]",
    EntityType.BIN: "[BIN]",
    EntityType.KZ_IBAN: "[IBAN]",
    EntityType.CARD: "[CARD]",
    EntityType.PHONE: "[PHONE]",
    EntityType.EMAIL: "[EMAIL]",
    EntityType.SECRET: "[SECRET]",
}
KIND = {EntityType.IIN: "iin", EntityType.BIN: "bin", EntityType.KZ_IBAN: "iban", EntityType.CARD: "card",
        EntityType.PHONE: "phone", EntityType.EMAIL: "email", EntityType.SECRET: "secret"}
_NOT_DIGIT = re.compile(r"[^0-9]")
# Belt and braces for the two formats people type most, should the detector ever miss one.
_PHONE = re.compile(r"(?<![\w+])(?:\+7|8)[\s\-(]*\d{3}[\s\-)]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}(?!\d)")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def iin_check_digit(first11: str) -> int | None:
    """The 12th digit of an IIN/BIN (MVD order № 521 of 2023, p. 2); None when no digit is valid."""
    digits = [int(c) for c in first11]
    check = sum(d * w for d, w in zip(digits, range(1, 12))) % 11
    if check == 10:
        check = sum(d * w for d, w in zip(digits, (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2))) % 11
    return None if check == 10 else check


def iin_checksum_ok(number: str) -> bool:
    """Twelve digits whose last one is the right check digit (IIN and BIN share the rule)."""
    return bool(re.fullmatch(r"[0-9]{12}", number)) and iin_check_digit(number[:11]) == int(number[11])


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: where it is and what it is (never the value itself)."""

    kind: str
    start: int
    end: int


@dataclass
class Redaction:
    text: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        return sorted({f.kind for f in self.findings})

    @property
    def found(self) -> bool:
        return bool(self.findings)


def _valid(entity, text: str) -> bool:
    value = text[entity.start:entity.end]
    if entity.type in (EntityType.IIN, EntityType.BIN):
        return iin_checksum_ok(_NOT_DIGIT.sub("", value))
    if entity.type == EntityType.CARD:
        return luhn_ok(_NOT_DIGIT.sub("", value))
    return True


def find_pii(text: str) -> list[Finding]:
    """Spans of personal data in `text`, sorted, not overlapping."""
    if not text:
        return []
    claims = [e for e in candidates(text, types=list(PLACEHOLDER)) if _valid(e, text)]
    found = [Finding(KIND[e.type], e.start, e.end) for e in resolve_overlaps(claims)]
    taken = [(f.start, f.end) for f in found]
    for kind, pattern in (("phone", _PHONE), ("email", _EMAIL)):
        for m in pattern.finditer(text):
            if not any(s < m.end() and m.start() < e for s, e in taken):
                found.append(Finding(kind, m.start(), m.end()))
                taken.append((m.start(), m.end()))
    return sorted(found, key=lambda f: f.start)


_KIND_PLACEHOLDER = {KIND[t]: p for t, p in PLACEHOLDER.items()}


NEUTRAL = "[…]"


def redact(text: str, neutral: bool = False) -> Redaction:
    """The text with each piece of personal data replaced by a placeholder such as `[IIN]`.

    `neutral` puts `[…]` instead, for text that is searched: "[CARD]" would find the ID-card service.
    """
    findings = find_pii(text)
    out, last = [], 0
    for f in findings:
        out += [text[last:f.start], NEUTRAL if neutral else _KIND_PLACEHOLDER[f.kind]]
        last = f.end
    out.append(text[last:])
    return Redaction("".join(out), findings)


def redact_text(text: str) -> str:
    return redact(text).text if text else text


# --- logging ------------------------------------------------------------------------------
# Our own code logs redacted text already; this catches everything else (uvicorn's access log
# with a path, a traceback quoting an input) at the moment any log record is created.

def _redact_arg(arg):
    if isinstance(arg, (bool, float)) or arg is None:
        return arg
    text = str(arg)
    clean = redact_text(text)
    if clean == text:
        return arg
    return clean


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = redact_text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        full = record.getMessage()
        clean = redact_text(full)
        if clean == full:
            return record
        # Keep msg and args apart where possible: uvicorn's access formatter unpacks the args.
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        try:
            again = record.getMessage()
            ok = redact_text(again) == again
        except Exception:
            ok = False
        if not ok:
            record.msg, record.args = clean, None
    except Exception:  # logging must never fail because of redaction
        record.msg, record.args = "[log record dropped: redaction failed]", None
        record.exc_info, record.exc_text = None, None
    return record


class _RedactingFactory:
    def __init__(self, inner):
        self.inner = inner

    def __call__(self, *args, **kwargs):
        return _redact_record(self.inner(*args, **kwargs))


def install_log_redaction() -> None:
    """Every log record of the process is redacted when it is created (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(current))


def uninstall_log_redaction() -> None:
    current = logging.getLogRecordFactory()
    if isinstance(current, _RedactingFactory):
        logging.setLogRecordFactory(current.inner)
