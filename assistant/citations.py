"""Checks every citation of an answer: each cited line must be found in the source it cites."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.answer import Source

_MARKER = re.compile(r"\s*\[(\d+)\]")
_LINK_LINE = re.compile(r"^(?:[^:]{1,40}):\s*(https?://\S+)$")
_DATE_LINE = re.compile(r"^(?:[^:]{1,60}):\s*(\d{4}-\d{2}(?:-\d{2})?)$")
_FACT_LINES = ((_LINK_LINE, "url"), (_DATE_LINE, "date"))
_LABEL = re.compile(r"^\*\*[^*]{1,80}\*\*:?$")
_BULLET = re.compile(r"^(?:[-*•]\s+|\d+[.)]\s+)")


def normalise(text: str) -> str:
    text = text.replace("**", "").replace("`", "")
    return re.sub(r"\s+", " ", text).strip().lower()


@dataclass
class CitationReport:
    """Per-answer verdict: which lines failed and why (empty = every claim is supported)."""

    claims: int = 0
    supported: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def faithfulness(self) -> float:
        return self.supported / self.claims if self.claims else 1.0


def sentences(text: str) -> list[str]:
    """Lines, then sentences within a line (a citation marker closes a sentence too); a bold label stays whole
    («**п. 3. Срок оказания государственной услуги**» is one label, not three sentences)."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if _LABEL.match(line):
            out.append(line)
        elif line:
            out.extend(p.strip() for p in re.split(r"(?<=[.!?\]])\s+(?=[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ\d«\"(])", line) if p.strip())
    return out


def check_citations(answer: str, sources: list[Source], strict_verbatim: bool = True) -> CitationReport:
    """Every [n] must resolve; a cited sentence must appear in its source (verbatim when strict).

    Lines with no marker may only be labels (`**Cost**`). Links must be the cited source's URL, dates its date.
    """
    by_n = {s.n: s for s in sources}
    report = CitationReport()
    for sentence in sentences(answer):
        numbers = [int(n) for n in _MARKER.findall(sentence)]
        bare = _BULLET.sub("", _MARKER.sub("", sentence)).strip()
        if not numbers:
            if not _LABEL.match(bare):
                report.claims += 1
                report.problems.append(f"uncited: {sentence[:80]}")
            continue
        report.claims += 1
        missing = [n for n in numbers if n not in by_n]
        if missing:
            report.problems.append(f"unknown source [{missing[0]}]: {sentence[:80]}")
            continue
        # a link line must carry its cited source's URL, a date line its cited source's date
        fact = next(((m.group(1), attr) for pattern, attr in _FACT_LINES if (m := pattern.match(bare))), None)
        if fact:
            value, attr = fact
            if any(value == getattr(by_n[n], attr) for n in numbers):
                report.supported += 1
            else:
                report.problems.append(f"{'link' if attr == 'url' else 'date'} not of a cited source: {value}")
            continue
        if not strict_verbatim or any(normalise(bare) in normalise(by_n[n].text) for n in numbers):
            report.supported += 1
        else:
            report.problems.append(f"not in cited source: {sentence[:80]}")
    return report
