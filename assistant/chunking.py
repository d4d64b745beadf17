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
            pieces = self._regulation_pieces(doc.text)
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

    def _regulation_pieces(self, text: str) -> list[tuple[str, str]]:
        """Acts split at chapters and numbered points; neighbouring short points are merged."""
        pieces: list[tuple[str, str]] = []
        for path, body in _sections(text):
            heading = _short(path[-1]) if path else ""
            points = self._points(body)
            group: list[tuple[str, str]] = []
            size = 0
            for number, point_text in points:
                if group and size + len(point_text) > self.max_chars:
                    pieces.append(self._point_group(heading, group))
                    group, size = [], 0
                group.append((number, point_text))
                size += len(point_text)
            if group:
                pieces.append(self._point_group(heading, group))
        return [(s, clean_markdown(b)) for s, b in pieces if clean_markdown(b)]

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
