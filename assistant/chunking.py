"""Splits documents on their own structure (card sections, chapters and numbered points)."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.corpus import SourceDocument

_HEADING = re.compile(r"^(#{1,4})\s+(.*\S)\s*$")
_ANCHOR = re.compile(r'<a id="p(\d+)"></a>')
_POINT = re.compile(r"^\s*(\d+)\\?\.\s")
_TAG = re.compile(r"<[^>]+>")
_TABLE = re.compile(r"<table>(.*?)</table>", re.S)
_ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
_CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
_ROW_NUMBER = re.compile(r"^\s*(\d+)\.?\s*$")
_STRONG = re.compile(r"<strong>(.*?)</strong>", re.S)
_STANDARD_WORDS = ("стандарт", "требован", "талап")
STANDARD = {"ru": "Стандарт государственной услуги", "kk": "Мемлекеттік көрсетілетін қызмет стандарты"}


@dataclass
class Chunk:
    """A piece of one document: what is embedded, searched, cited and quoted."""

    chunk_id: str
    doc: SourceDocument
    section: str
    body: str
    position: int
    meta: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Stored and embedded text: a header line for context, then the body quoted in answers."""
        header = f"{self.doc.title} — {self.section}" if self.section else self.doc.title
        return f"{header}\n{self.body}"


def clean_markdown(text: str) -> str:
    """Removes conversion artefacts of the acts (HTML tags, entities, escapes, image stubs)."""
    text = text.replace("</td>", " | ").replace("</tr>", "\n").replace("<br>", " ")
    text = _TAG.sub("", text)
    text = html.unescape(text).replace("\\.", ".").replace("[Image]", "")
    text = text.replace("\u200b", "").replace("\ufeff", "")
    text = re.sub(r"[ \t]{2,}", " ", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def standard_rows(table: str) -> tuple[str, list[tuple[str, str, str]]] | None:
    """The service standard every act of a service carries (a table of numbered requirements: term, fee,
    documents, grounds for refusal…): its title and rows (point number, requirement, what the act says).
    None for any other table."""
    rows = []
    for row in _ROW.findall(table):
        cells = _CELL.findall(row)
        number = _ROW_NUMBER.match(clean_markdown(cells[0])) if len(cells) >= 3 else None
        if number:
            rows.append((number.group(1), clean_markdown(cells[1]), clean_markdown("\n".join(cells[2:]))))
    if len(rows) < 5:
        return None
    strong = _STRONG.search(table)
    return (clean_markdown(strong.group(1)) if strong else ""), rows


def _sections(text: str) -> list[tuple[list[str], str]]:
    """(heading path, text) for every run of text under a heading."""
    path: list[tuple[int, str]] = []
    out: list[tuple[list[str], str]] = []
    buf: list[str] = []

    def flush():
        body = "\n".join(buf).strip()
        if body:
            out.append(([h for _, h in path], body))
        buf.clear()

    for line in text.splitlines():
        m = _HEADING.match(line)
        if m:
            flush()
            level = len(m.group(1))
            path = [(lvl, h) for lvl, h in path if lvl < level] + [(level, m.group(2).strip("* "))]
        else:
            buf.append(line)
    flush()
    return out


class StructuredChunker:
    """Chunks a document by its structure, then by size within a section."""

    def __init__(self, max_chars: int = 1400, min_chars: int = 200):
        self.max_chars = max_chars
        self.min_chars = min_chars
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=max_chars, chunk_overlap=min(150, max_chars // 8), separators=["\n\n", "\n", ". ", " ", ""]
        )

    def chunk(self, doc: SourceDocument) -> list[Chunk]:
        if doc.kind == "regulation":
            pieces = self._regulation_pieces(doc.text, doc.lang)
        elif doc.kind == "catalogue":
            pieces = [("", doc.text)]
        else:
            pieces = self._card_pieces(doc.text)
        chunks = []
        for section, body in pieces:
            for part in self._splitter.split_text(body) if len(body) > self.max_chars else [body]:
                chunks.append(Chunk(f"{doc.doc_id}#{len(chunks)}", doc, section, part.strip(), len(chunks)))
        return [c for c in chunks if c.body]

    def _card_pieces(self, text: str) -> list[tuple[str, str]]:
        """A card's sections stay whole: each answers one kind of question (cost, term, documents)."""
        return [(path[-1] if path else "", body) for path, body in _sections(text)]

    def _regulation_pieces(self, text: str, lang: str = "ru") -> list[tuple[str, str]]:
        """Acts split at chapters and numbered points; neighbouring short points are merged. A service
        standard is split at its rows, so that "п. 3" (the term) is one citable piece."""
        pieces: list[tuple[str, str]] = []
        for path, section_body in _sections(text):
            heading = _short(path[-1]) if path else ""
            parts = _TABLE.split(section_body)  # text, table, text, table, …
            for i, body in enumerate(parts):
                standard = standard_rows(body) if i % 2 else None
                if standard:
                    pieces.extend(self._standard_pieces(path[-1] if path else "", standard, lang))
                elif body.strip():
                    self._point_pieces(heading, body if i % 2 == 0 else f"<table>{body}</table>", pieces)
        return [(s, clean_markdown(b)) for s, b in pieces if clean_markdown(b)]

    def _standard_pieces(self, heading: str, standard: tuple[str, list[tuple[str, str, str]]],
                         lang: str) -> list[tuple[str, str]]:
        title, rows = standard
        if not title:
            title = heading if any(w in heading.lower() for w in _STANDARD_WORDS) else STANDARD.get(lang, STANDARD["ru"])
        quoted = re.search(r"«.+»", title)  # the service's name says which of an act's standards this is
        name = _short(quoted.group(0) if quoted else title, 70)
        return [(f"{name} · п. {number}. {_short(requirement, 60)}", f"{number}. {requirement}\n{content}")
                for number, requirement, content in rows]

    def _point_pieces(self, heading: str, body: str, pieces: list[tuple[str, str]]) -> None:
        group: list[tuple[str, str]] = []
        size = 0
        for number, point_text in self._points(body):
            if group and size + len(point_text) > self.max_chars:
                pieces.append(self._point_group(heading, group))
                group, size = [], 0
            group.append((number, point_text))
            size += len(point_text)
        if group:
            pieces.append(self._point_group(heading, group))

    @staticmethod
    def _points(body: str) -> list[tuple[str, str]]:
        """Split a section at `<a id="pN">` anchors or numbered lines, keeping each point's number."""
        parts = _ANCHOR.split(body)
        out: list[tuple[str, str]] = []
        if parts[0].strip():
            out.append(("", parts[0].strip()))
        for i in range(1, len(parts), 2):
            text = parts[i + 1].strip()
            m = _POINT.match(text)
            out.append((m.group(1) if m else parts[i], text))
        return out

    @staticmethod
    def _point_group(heading: str, group: list[tuple[str, str]]) -> tuple[str, str]:
        numbers = [n for n, _ in group if n]
        label = ""
        if numbers:
            label = f"п. {numbers[0]}" if len(numbers) == 1 else f"пп. {numbers[0]}–{numbers[-1]}"
        section = " · ".join(s for s in (heading, label) if s)
        return section, "\n\n".join(t for _, t in group)



def _short(heading: str, limit: int = 100) -> str:
    return heading if len(heading) <= limit else heading[: limit - 1].rsplit(" ", 1)[0] + "…"
