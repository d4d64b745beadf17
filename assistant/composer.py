"""Composes answers from service cards without an LLM: every line is quoted from a cited source.

No offline LLM writes usable Kazakh, so the default generator assembles the answer from the
card in the question's language, choosing the sections the question asks about.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.answer import Source
from assistant.corpus import Catalogue
from assistant.lexical import fold
from assistant.messages import AS_OF, CANDIDATES, REFUSAL, SERVICE_LINK
from assistant.retrieval import Hit
from assistant.routing import RoutedService
from assistant.store import Record, VectorStore

# Card section headings (corpus/README.md) → the slot they fill.
SECTION_SLOTS = {
    "что вы получите": "result", "не аласыз": "result", "what you get": "result",
    "кто может обратиться": "who", "кім жүгіне алады": "who", "who can apply": "who",
    "документы": "documents", "құжаттар": "documents", "documents": "documents",
    "стоимость": "cost", "құны": "cost", "cost": "cost",
    "срок": "term", "мерзімі": "term", "term": "term",
    "как подать": "how", "қалай өтінім беруге болады": "how", "how to apply": "how",
    "основания для отказа": "refusal", "бас тарту негіздері": "refusal", "grounds for refusal": "refusal",
    "связанные услуги": "related", "байланысты қызметтер": "related", "related services": "related",
    "правовая основа": "basis", "құқықтық негіз": "basis", "legal basis": "basis",
}

# Words that show which part of a service the citizen asks about (folded, lower case, prefixes).
INTENT_CUES = {
    "cost": ["сколько стоит", "стоимост", "цена", "платн", "бесплатн", "пошлин", "оплат", "кун", "канша туратын",
             "канша турады", "акы", "акыл", "тегин", "баж", "толем", "cost", "fee", "price", "how much", "free", "pay"],
    "term": ["срок", "сколько дней", "как долго", "когда будет", "сколько ждать", "мерзим", "канша кун", "канша уакыт",
             "how long", "processing time", "how many days", "when will", "term"],
    "documents": ["документ", "какие бумаги", "что нужно принести", "что нужно для", "кужат", "не кажет", "кандай кужат",
                  "document", "papers", "what do i need", "requirement"],
    "who": ["кто может", "имеет право", "могу ли", "может ли", "ким", "кукылы", "who can", "eligib", "can i", "can my"],
    "refusal": ["отказ", "откажут", "бас тарт", "refus", "denied", "reject"],
    "how": ["как получить", "как подать", "как оформить", "где получить", "калай", "кайда", "how to", "how do", "where",
            "apply"],
}
GENERAL_SLOTS = ["result", "cost", "term", "how"]
# "What do I do now?" — the citizen wants the whole path of a life event, not one service.
LIFE_EVENT_CUES = ["что делать", "что мне делать", "что нужно сделать", "с чего начать", "не істеу керек",
                   "не істеуім керек", "не істейміз", "неден бастау", "what do i do", "what should i do",
                   "what to do", "what do we do", "where do i start"]


def question_intents(question: str) -> list[str]:
    q = fold(question.lower())
    return [slot for slot, cues in INTENT_CUES.items() if any(fold(c) in q for c in cues)]


def _sentences(body: str) -> list[str]:
    """Lines of a card section; long lines split into sentences so each can be cited alone."""
    out = []
    for line in body.splitlines():
        line = line.strip()
        if not line:
            continue
        bullet = re.match(r"^([-*•]|\d+[.)])\s+", line)
        prefix = "- " if bullet else ""
        text = line[bullet.end():] if bullet else line
        parts = [p for p in re.split(r"(?<=[.!?])\s+(?=[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ«\d])", text) if p.strip()]
        out.extend(prefix + p if i == 0 else p for i, p in enumerate(parts))
    return out


@dataclass
class Draft:
    """An answer before checking: text plus the sources its [n] markers point to."""

    text: str
    sources: list[Source] = field(default_factory=list)
    refused: bool = False
    services: list[RoutedService] = field(default_factory=list)
    generator: str = "composer"  # the generator asked; with `fallback` set, the text is the composer's
    fallback: str | None = None
    metrics: dict = field(default_factory=dict)  # e.g. the LLM's first-token and total latency
    basis: str = "card"  # "act": quoted from an act's service standard (no e-service fits), see assistant/acts.py


class _Citer:
    """Numbers sources in order of first citation."""

    def __init__(self):
        self.sources: list[Source] = []
        self._by_id: dict[str, int] = {}

    def cite(self, record: Record) -> int:
        key = record.chunk_id
        if key not in self._by_id:
            self._by_id[key] = len(self.sources) + 1
            self.sources.append(Source.from_record(self._by_id[key], record))
        return self._by_id[key]


def document(store: VectorStore, doc_id: str, audience: str = "public") -> list[Record]:
    """All chunks of one document, in reading order."""
    return sorted(store.records(audience, where={"doc_id": doc_id}), key=lambda r: r.meta.get("position", 0))


def document_in_language(store: VectorStore, base_id: str, lang: str, audience: str = "public") -> list[Record]:
    """`<base_id>-<lang>`, else the Russian, English or Kazakh version: a citizen gets the nearest one we have."""
    for candidate in (lang, "ru", "en", "kk"):
        records = document(store, f"{base_id}-{candidate}", audience)
        if records:
            return records
    return []


def quote_document(records: list[Record]) -> tuple[str, list[Source]]:
    """A whole document (a life situation, a staff procedure), section by section, every line cited."""
    citer = _Citer()
    lines: list[str] = []
    for record in records:
        n = citer.cite(record)
        if record.meta.get("section"):
            lines += ["", f"**{record.meta['section']}**"]
        lines.extend(f"{s} [{n}]" for s in _sentences(record.body))
    return "\n".join(lines).strip(), citer.sources


def date_lines(sources: list[Source], lang: str) -> list[str]:
    """One line per quoted document saying how fresh its text is (check date, act edition, crawl month)."""
    lines, seen = [], set()
    for source in sources:
        if source.doc_id in seen or not source.date or source.kind not in AS_OF:
            continue
        seen.add(source.doc_id)
        lines.append(f"{AS_OF[source.kind][lang]}: {source.date} [{source.n}]")
    return lines


class CardComposer:
    """The default generator: quotes the best card's relevant sections with citations."""

    name = "composer"

    def __init__(self, store: VectorStore, catalogue: Catalogue):
        self.store = store
        self.catalogue = catalogue

    def _document(self, doc_id: str, audience: str = "public") -> list[Record]:
        return document(self.store, doc_id, audience)

    def card(self, code: str, lang: str) -> list[Record]:
        return document_in_language(self.store, code, lang)

    def refuse(self, lang: str, candidates: list[RoutedService]) -> Draft:
        lines = [REFUSAL[lang]]
        if candidates:
            lines += ["", CANDIDATES[lang]] + [f"- {c.title}: {c.url}" for c in candidates]
        return Draft("\n".join(lines), refused=True, services=candidates)

    def compose(self, question: str, lang: str, hits: list[Hit], services: list[RoutedService]) -> Draft:
        situation = self._situation_hit(hits, lang, question, services)
        if situation is not None:
            return self._compose_situation(situation, lang, services)
        top = services[0]
        citer = _Citer()
        lines: list[str] = []
        card = self.card(top.code, lang)
        intents = question_intents(question)
        if card:
            self._quote_card(card, intents, citer, lines)
            link_source = card[0]
        else:
            entry = [h.record for h in hits if h.meta.get("kind") == "catalogue" and top.code in h.record.service_codes
                     and h.meta.get("lang") == lang] or self._document(f"catalogue-{top.code}-{lang}")
            if not entry:
                return self.refuse(lang, services)
            link_source = entry[0]
            n = citer.cite(link_source)
            lines.append(f"{link_source.body.split('.')[0]}. [{n}]")
            self._quote_regulation(hits, top.code, intents, lang, citer, lines)
        n = citer.cite(link_source)
        lines += ["", *date_lines(citer.sources, lang), f"{SERVICE_LINK[lang]}: {link_source.meta['url']} [{n}]"]
        return Draft("\n".join(lines).strip(), citer.sources, services=services)

    def _quote_card(self, card: list[Record], intents: list[str], citer: _Citer, lines: list[str]) -> None:
        by_slot: dict[str, Record] = {}
        summary = None
        for record in card:
            section = (record.meta.get("section") or "").strip().lower()
            if not section:
                summary = summary or record
            elif section in SECTION_SLOTS:
                by_slot.setdefault(SECTION_SLOTS[section], record)
        wanted = [s for s in intents if s in by_slot and s != "how"] or [s for s in GENERAL_SLOTS if s in by_slot]
        if "how" in intents and "how" in by_slot and "how" not in wanted:
            wanted.append("how")
        if summary is not None:
            n = citer.cite(summary)
            lines.extend(f"{s} [{n}]" for s in _sentences(summary.body))
        for slot in wanted:
            record = by_slot[slot]
            if slot == "result" and summary is not None and len(wanted) > 1:
                continue  # the summary already says what the service gives
            n = citer.cite(record)
            lines += ["", f"**{record.meta['section']}**"]
            lines.extend(f"{s} [{n}]" for s in _sentences(record.body))

    def _quote_regulation(self, hits: list[Hit], code: str, intents: list[str], lang: str, citer: _Citer,
                          lines: list[str]) -> None:
        """With no card, one sentence of the governing act that matches what was asked."""
        acts = [h.record for h in hits if h.meta.get("kind") == "regulation" and code in h.record.service_codes
                and h.meta.get("lang") in (lang, "ru")]
        cues = [fold(c) for s in intents for c in INTENT_CUES[s]] or []
        for record in acts:
            for sentence in _sentences(record.body):
                plain = sentence.lstrip("- ")
                if 40 <= len(plain) <= 400 and (not cues or any(c in fold(plain.lower()) for c in cues)):
                    n = citer.cite(record)
                    lines.append(f"{plain} [{n}]")
                    return

    def _situation_hit(self, hits: list[Hit], lang: str, question: str = "",
                       services: list[RoutedService] | None = None) -> Hit | None:
        """A life situation answers when the citizen asks what to do, or when it ranks near the top and its
        path holds the routed service (a question about one service of another path gets that card)."""
        if not hits:
            return None
        top = hits[0].score
        asks_path = any(fold(c) in fold(question.lower()) for c in LIFE_EVENT_CUES)
        for hit in hits if asks_path else hits[:3]:
            if hit.meta.get("kind") != "situation":
                continue
            if asks_path or (hit.score >= 0.8 * top and (not services or services[0].code in hit.record.service_codes)):
                return hit
        return None

    def _compose_situation(self, hit: Hit, lang: str, services: list[RoutedService]) -> Draft:
        doc_id = hit.meta["doc_id"]
        base = doc_id.rsplit("-", 1)[0]
        records = self._document(f"{base}-{lang}") or self._document(doc_id)
        text, sources = quote_document(records)
        text = "\n".join([text, "", *date_lines(sources, lang)]).strip()
        codes = [c for c in records[0].service_codes if c in self.catalogue] if records else []
        # The path's services share the confidence of the routing that led to the situation.
        confidence = max((s.score for s in services), default=0.0)
        routed = [s.code for s in services if s.code in codes]  # what the question itself asks for comes first
        path_services = [
            RoutedService(c, self.catalogue.get(c).title_for(lang), self.catalogue.get(c).url_for(lang), confidence)
            for c in routed + [c for c in codes if c not in routed]
        ]
        return Draft(text, sources, services=path_services or services)
