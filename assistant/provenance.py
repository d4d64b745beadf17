"""Provenance of the numbers in our cards: each one must appear in a source the card names.

A card names its sources in the front matter: `sources: [catalogue, portal]` (the egov.kz
catalogue's `info` text and the portal's Kazakh page of the card's codes) and, through
`regulations`, the acts it cites. A number (fee, MRP, days, age, point) found in none of them
is unsourced: it is removed or written as "check on egov.kz / 1414". The check is ours because
no library knows these sources; it is deliberately strict and simple (the number must occur).

    python -m assistant.provenance            # every unsourced number in corpus/, by file
    python -m assistant.provenance FILE ...   # only these cards
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.corpus import REGULATION_FILES, SourceDocument, load_egov_csv, parse_markdown
from assistant.settings import PROJECT_ROOT, SHARED_DATA
SOURCE_KINDS = ("catalogue", "portal")
# Numbers that are never facts of a service: the contact centre, and list numbering (handled apart).
ALWAYS_ALLOWED = {"1414"}
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)?(?![\w])")
_SKIP = re.compile(r"`[^`]*`|https?://\S+|\bwww\.\S+|\[\d+\]")
_LIST_MARKER = re.compile(r"^\s*\d+[.)]\s", re.M)


def normalise(number: str) -> str:
    """'0,5' and '0.5' are the same number; '05' and '5' too."""
    number = number.replace(",", ".")
    whole, _, frac = number.partition(".")
    whole = whole.lstrip("0") or "0"
    frac = frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def numbers_in(text: str) -> set[str]:
    return {normalise(m.group()) for m in _NUMBER.finditer(text)}


def card_numbers(body: str) -> list[str]:
    """The numbers a card states, in order, without list markers, codes, links and citation marks."""
    text = _LIST_MARKER.sub(" ", _SKIP.sub(" ", body))
    return [m.group() for m in _NUMBER.finditer(text)]


@dataclass(frozen=True)
class Sources:
    """The texts a card may take its numbers from, loaded once from `../shared/data`."""

    shared: Path = SHARED_DATA

    @property
    def available(self) -> bool:
        return (self.shared / "egov" / "egov_services_ru.csv").is_file()

    @lru_cache(maxsize=None)
    def catalogue(self) -> dict[str, str]:
        rows = load_egov_csv(self.shared / "egov" / "egov_services_ru.csv")
        return {row["code"]: f"{row['service']}\n{row['info']}" for row in rows}

    @lru_cache(maxsize=None)
    def portal(self) -> dict[str, str]:
        path = self.shared / "egov" / "egov_portal_pages_kk.jsonl"
        pages = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    page = json.loads(line)
                    text = "\n".join([page.get("title_kk", ""), page.get("description_kk", ""),
                                      " ".join(page.get("keywords_kk") or []), page.get("instructions_kk", "")])
                    pages[page["code"]] = text.replace("\\n", "\n")  # the crawler stored line breaks as "\n"
        return pages

    @lru_cache(maxsize=None)
    def act(self, folder: str) -> str:
        base = self.shared / "regulations" / folder
        return "\n".join((base / name).read_text(encoding="utf-8") for name in REGULATION_FILES if (base / name).is_file())

    def named_by(self, doc: SourceDocument) -> dict[str, str]:
        """Source label → text, for every source the card names."""
        named: dict[str, str] = {}
        kinds = doc.meta.get("sources") or []
        for code in doc.service_codes:
            if "catalogue" in kinds and code in self.catalogue():
                named[f"catalogue:{code}"] = self.catalogue()[code]
            if "portal" in kinds and code in self.portal():
                named[f"portal:{code}"] = self.portal()[code]
        for link in doc.meta.get("regulations") or []:
            folder = str((link or {}).get("act", ""))
            if folder:
                named[f"act:{folder}"] = self.act(folder)
        return named


def unsourced(doc: SourceDocument, sources: Sources) -> list[str]:
    """Numbers of the card that none of its named sources contains."""
    allowed = set(ALWAYS_ALLOWED)
    for text in sources.named_by(doc).values():
        allowed |= numbers_in(text)
    return [n for n in card_numbers(doc.text) if normalise(n) not in allowed and n not in ALWAYS_ALLOWED]


def bad_source_kinds(doc: SourceDocument) -> list[str]:
    kinds = doc.meta.get("sources")
    if not isinstance(kinds, list):
        return ["`sources` must be a list, e.g. [catalogue, portal]"]
    return [f"unknown source {k!r} (expected {', '.join(SOURCE_KINDS)})" for k in kinds if k not in SOURCE_KINDS]


def checked_files(corpus_dir: Path) -> list[Path]:
    """Cards and life situations state facts to citizens; staff procedures are marked samples."""
    return sorted(p for sub in ("services", "situations") for p in (corpus_dir / sub).glob("*.md"))


def main(argv: list[str]) -> int:
    sources = Sources()
    if not sources.available:
        print(f"no sources at {sources.shared}", file=sys.stderr)
        return 2
    paths = [Path(a) for a in argv] or checked_files(PROJECT_ROOT / "corpus")
    failures = 0
    for path in paths:
        doc = parse_markdown(path)
        problems = bad_source_kinds(doc) + [f"unsourced number {n}" for n in unsourced(doc, sources)]
        if problems:
            failures += 1
            print(f"{path}: " + "; ".join(problems))
    print(f"{failures} of {len(paths)} files have problems", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
