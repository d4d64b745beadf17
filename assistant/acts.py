"""Answers from the acts: the question fits no e-service of the catalogue, but an official act's service
standard answers it (how long a passport takes, the documents for emigration, the grounds for refusal).

The standard of every state service is a table of numbered requirements (term, fee, documents, grounds for
refusal…); the chunker makes each row one piece, cited as "«<service>» · п. 3". This module picks the act and
the standard the question is about, and quotes the rows it asks for, verbatim, with the act's edition date and
official URL, in the question's language (the acts exist in Kazakh and Russian).

It answers only when the evidence agrees: of the retrieved passages from acts, most are from one act, and the question names
the standard's own subject (a word of its title that few catalogue titles share, e.g. «паспорт», «выезд»,
«жеке куәлік») — a question that merely shares an act's vocabulary is still declined.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from assistant.composer import Draft, _Citer, _sentences, date_lines, document, question_intents
from assistant.corpus import Catalogue
from assistant.lexical import STOPWORDS, document_tokens, fold, query_tokens
from assistant.messages import ACT_LINK, ACT_NOTE, ACT_OTHER_LANGUAGE
from assistant.retrieval import Hit
from assistant.store import Record, VectorStore

ACT_LANGS = ("kk", "ru")
_ROW = re.compile(r"^(?P<standard>.+) · п\. (?P<point>\d+)\. (?P<requirement>.+)$")
# Which row of a standard answers which intent (matched on the folded row name).
ROW_CUES = {
    "term": ["срок", "мерзим"],
    "cost": ["размер оплаты", "стоимост", "толем", "акы"],
    "documents": ["перечень документов", "кужат"],
    "refusal": ["основания для отказа", "бас тарту"],
    "how": ["способы предоставления", "усыну тасил"],
}
GENERAL = ["how", "term"]  # "how do I get a passport?": where to apply and how long it takes
MAX_SENTENCES = 10  # per quoted row: the documents row of a passport runs to pages; the citation names the point
ACT_NEAR_TOP = 10  # a lone passage of an act counts when a leg ranks it this high (of CANDIDATE_K = 40 per leg)
GENERIC_TITLE_SHARE = 0.03  # a word in more catalogue titles than this says nothing about which service
# The words every act's title has ("the rules of providing the state service …"): they name no subject.
ACT_TITLE_BOILERPLATE = ["Об утверждении Правил оказания государственной услуги",
                         "мемлекеттік қызмет көрсету қағидаларын бекіту туралы", "мемлекеттік көрсетілетін қызмет"]


def _plain(text: str) -> str:
    return fold(text.lower()).replace("i", "и")  # some acts type the Kazakh «і» as a Latin i


@dataclass
class Standard:
    """One service standard of an act document: its rows in reading order."""

    name: str
    rows: list[Record]

    def row(self, intent: str) -> list[Record]:
        """The chunks of the row that answers `intent` (a long row is several chunks of one point)."""
        cues = ROW_CUES[intent]
        point = next((_ROW.match(r.meta["section"])["point"] for r in self.rows
                      if any(c in _plain(_ROW.match(r.meta["section"])["requirement"]) for c in cues)), None)
        return [r for r in self.rows if _ROW.match(r.meta["section"])["point"] == point] if point else []


def standards(records: list[Record]) -> tuple[list[Standard], list[int]]:
    """An act document's standards, and for each chunk the standard it belongs to (a rule's chapters
    precede their own standard, so a chunk belongs to the next standard, or the last one after it)."""
    found: list[Standard] = []
    owner: list[int] = []
    for record in records:
        m = _ROW.match(record.meta.get("section") or "")
        if m and (not found or found[-1].name != m["standard"] or not owner or owner[-1] != len(found) - 1):
            found.append(Standard(m["standard"], []))
        if m:
            found[-1].rows.append(record)
        owner.append(len(found) - 1 if m else -1)
    # a chunk outside any table: the next standard in reading order, else the last one
    resolved, following = [0] * len(owner), None
    for i in range(len(owner) - 1, -1, -1):
        if owner[i] >= 0:
            following = owner[i]
        resolved[i] = owner[i] if owner[i] >= 0 else (following if following is not None else len(found) - 1)
    return found, resolved


class ActAnswerer:
    """Builds an answer from one act's service standard, or None when the act is not clearly what was asked."""

    def __init__(self, store: VectorStore, catalogue: Catalogue):
        self.store = store
        titles = [t for s in catalogue.by_code.values() for t in (s.title_for("ru"), s.title_for("kk"))]
        counts = Counter(tok for t in titles for tok in set(query_tokens(t)))
        self.generic = {tok for tok, n in counts.items() if n > GENERIC_TITLE_SHARE * len(titles)} | \
            {tok for w in [*STOPWORDS, *ACT_TITLE_BOILERPLATE] for tok in query_tokens(w)}

    def answer(self, question: str, lang: str, hits: list[Hit]) -> Draft | None:
        top = self.leading_act_hit(hits) if lang in ACT_LANGS else None
        if top is None:
            return None
        act = _act_of(top)
        other = next(x for x in ACT_LANGS if x != lang)
        quote_lang = lang if self._records(f"{act}-{lang}") else other  # the question's language where the act has it
        hit_records = self._records(top.meta["doc_id"])
        found, owner = standards(hit_records)
        target = standards(self._records(f"{act}-{quote_lang}"))[0]
        if not found or len(target) != len(found):  # the two language versions must pair up standard by standard
            return None
        position = next((i for i, r in enumerate(hit_records) if r.chunk_id == top.record.chunk_id), None)
        if position is None:
            return None
        standard = target[owner[position]]
        subject = standard.name if "«" in standard.name else standard.rows[0].meta.get("title", "")
        if not self.names_subject(question, subject, quote_lang):
            return None
        intents = [i for i in question_intents(question) if i in ROW_CUES] or GENERAL
        rows = [chunks for chunks in (standard.row(intent) for intent in intents) if chunks]
        return self._compose(rows, lang, quote_lang) if rows else None

    @staticmethod
    def leading_act_hit(hits: list[Hit]) -> Hit | None:
        """The best passage of the one act the retrieved passages agree on: among the passages from acts, one act has
        more than any other (a card or a portal page may still rank above it: with a card for every service, a
        question about a passport shares words with many cards), with two passages among the hits or one that a
        retrieval leg ranks in its top ACT_NEAR_TOP. None otherwise."""
        acts = [h for h in hits if h.meta.get("kind") == "regulation"]
        if not acts:
            return None
        counts = Counter(_act_of(h) for h in acts)
        (best, n), *rest = counts.most_common()
        if rest and rest[0][1] == n:
            return None
        top = next(h for h in acts if _act_of(h) == best)
        # one stray passage is not agreement: two of the act's passages, or one that a leg ranks near the top
        near_top = any(r is not None and r < ACT_NEAR_TOP for r in (top.dense_rank, top.lexical_rank))
        return top if n >= 2 or near_top else None

    def names_subject(self, question: str, subject: str, lang: str) -> bool:
        """The question names what the standard is about: a distinctive word of its title."""
        asked = set(query_tokens(question)) - self.generic
        return bool(asked & (set(document_tokens(subject, lang)) - self.generic))

    def _records(self, doc_id: str) -> list[Record]:
        return document(self.store, doc_id)

    @staticmethod
    def _compose(rows: list[list[Record]], lang: str, quote_lang: str) -> Draft:
        """Each asked row as a labelled block of quoted sentences, then the note, the edition date and the link."""
        citer = _Citer()
        lines: list[str] = []
        for chunks in rows:
            first = chunks[0]
            n = citer.cite(first)
            m = _ROW.match(first.meta["section"])
            lines += ["", _label(f"п. {m['point']}. {m['requirement']}")]
            lines.extend(f"{s} [{n}]" for s in _sentences(first.body)[1:MAX_SENTENCES + 1])  # line 1 is the row's name
        notes = [ACT_NOTE[lang]] + ([ACT_OTHER_LANGUAGE[lang]] if quote_lang != lang else [])
        lines += ["", *(_label(note) for note in notes), *date_lines(citer.sources, lang)]
        if citer.sources[0].url:
            lines.append(f"{ACT_LINK[lang]}: {citer.sources[0].url} [1]")
        return Draft("\n".join(lines).strip(), citer.sources, basis="act")


def _act_of(hit: Hit) -> str:
    return hit.meta["doc_id"].rsplit("-", 1)[0]


def _label(text: str, limit: int = 78) -> str:
    """A bold line in the assistant's own words (the citation check allows these uncited, up to 80 characters)."""
    text = text.replace("*", "")
    return f"**{text if len(text) <= limit else text[:limit - 1].rstrip() + '…'}**"
