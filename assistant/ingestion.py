"""Incremental ingestion: parse → chunk → embed (cached) → upsert; unchanged files cost nothing."""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from assistant.chunking import Chunk, StructuredChunker
from assistant.corpus import (
    PORTAL_SUFFIX,
    REGULATION_FILES,
    Catalogue,
    CorpusError,
    SourceDocument,
    SourceFile,
    catalogue_documents,
    file_hash,
    is_regulation_folder,
    load_act_links,
    parse_markdown,
    parse_regulation,
    portal_documents,
)
from assistant.settings import PROJECT_ROOT, Settings
from assistant.store import AUDIENCES, VectorStore

log = logging.getLogger(__name__)
SKIPPED_NAMES = {"README.md", "regulations.yaml", "INDEX.csv", "meta.yaml"}


@dataclass
class IngestReport:
    """What one ingestion run did; the CLI prints it and tests assert on it."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    chunks_written: int = 0
    texts_embedded: int = 0
    tokens_embedded: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        rate = self.tokens_embedded / self.seconds if self.seconds else 0.0
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.deleted)} deleted, {len(self.errors)} errors; {self.chunks_written} chunks written, "
            f"{self.texts_embedded} texts embedded (~{self.tokens_embedded} tokens) in {self.seconds:.1f}s"
            + (f" ({rate:.0f} tokens/s)" if self.texts_embedded else "")
        )


def source_key(path: Path) -> str:
    """Stable name of a source file: relative to the project when inside it, else absolute."""
    path = path.resolve()
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def discover(paths: list[Path]) -> list[Path]:
    """Every ingestible file under the given paths (Markdown, catalogue YAML, act folders)."""
    found: list[Path] = []
    for root in paths:
        if root.is_file():
            found.append(root)
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: no such file or folder")
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.name in SKIPPED_NAMES or any(p.startswith(".") for p in path.parts[-3:]):
                continue
            if path.name in REGULATION_FILES and is_regulation_folder(path.parent):
                found.append(path)
            elif path.suffix in (".md", PORTAL_SUFFIX) or (path.suffix in (".yaml", ".yml") and path.parent.name == "catalogue"):
                found.append(path)
    return found


class Ingestor:
    """Keeps the index equal to the files on disk, touching only what changed."""

    def __init__(self, settings: Settings, store: VectorStore):
        self.settings = settings
        self.store = store
        self.chunker = StructuredChunker(settings.chunk_max_chars, settings.chunk_min_chars)
        self.act_links = load_act_links(settings.corpus_dir)
        links_file = settings.corpus_dir / "regulations.yaml"
        self._links_hash = file_hash(links_file) if links_file.is_file() else ""
        self._known_codes: set[str] | None = None

    def known_codes(self) -> set[str]:
        """Catalogue codes: a portal page of another code is indexed but routes nowhere."""
        if self._known_codes is None:
            self._known_codes = set(Catalogue.load(self.settings.corpus_dir).by_code)
        return self._known_codes

    def read(self, path: Path) -> SourceFile:
        """Parse one file into documents; raises CorpusError with the reason when unusable."""
        if path.name in REGULATION_FILES and is_regulation_folder(path.parent):
            docs = [parse_regulation(path, self.act_links)]
            digest = hashlib.sha256(
                (file_hash(path) + file_hash(path.parent / "meta.yaml") + self._links_hash).encode()
            ).hexdigest()
        elif path.suffix in (".yaml", ".yml"):
            docs, digest = catalogue_documents(path), file_hash(path)
        elif path.suffix == PORTAL_SUFFIX:
            docs = portal_documents(path, self.known_codes(), self.settings.portal_crawled)
            digest = hashlib.sha256((file_hash(path) + ",".join(sorted(self.known_codes()))).encode()).hexdigest()
        elif path.suffix == ".md":
            docs, digest = [parse_markdown(path)], file_hash(path)
        else:
            raise CorpusError(path, f"unsupported file type {path.suffix or '(none)'}")
        return SourceFile(source_key(path), digest, docs)

    def chunk(self, source: SourceFile) -> list[Chunk]:
        chunks = [c for doc in source.documents for c in self.chunker.chunk(doc)]
        if not chunks:
            raise CorpusError(source.path, "no text to index")
        return chunks

    @staticmethod
    def metadata(chunk: Chunk, source: SourceFile, n_chunks: int) -> dict:
        doc: SourceDocument = chunk.doc
        meta = {
            "doc_id": doc.doc_id,
            "kind": doc.kind,
            "lang": doc.lang,
            "audience": doc.audience,
            "title": doc.title,
            "section": chunk.section,
            "url": doc.source_url,
            "service_codes": ",".join(doc.service_codes),
            "effective_date": doc.effective_date,
            "position": chunk.position,
            "source": source.path,
            "file_hash": source.content_hash,
            "n_chunks": n_chunks,
        }
        for key in ("act", "requisite", "category"):
            if doc.meta.get(key):
                meta[key] = str(doc.meta[key])
        return meta

    def run(self, paths: list[Path], rebuild: bool = False, progress: bool = True) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        if rebuild:
            self.store.reset()
        state = {aud: self.store.source_state(aud) for aud in AUDIENCES}
        roots = [source_key(p) for p in paths]

        planned: list[tuple[SourceFile, str, list[Chunk]]] = []
        seen_sources: set[str] = set()
        seen_docs: dict[str, str] = {}
        for path in discover(paths):
            key = source_key(path)
            seen_sources.add(key)
            try:
                source = self.read(path)
                chunks = self.chunk(source)
                audiences = {d.audience for d in source.documents}
                if len(audiences) != 1:
                    raise CorpusError(path, "one file must not mix public and staff documents")
                for doc in source.documents:
                    if doc.doc_id in seen_docs:
                        raise CorpusError(path, f"duplicate id {doc.doc_id} (also in {seen_docs[doc.doc_id]})")
                    seen_docs[doc.doc_id] = key
            except CorpusError as exc:
                report.errors.append((str(path), exc.reason))
                log.warning("skipped %s: %s", path, exc.reason)
                continue
            audience = audiences.pop()
            stored = state[audience].get(key)
            if stored and stored["hashes"] == {source.content_hash} and len(stored["ids"]) == stored["n_chunks"]:
                report.unchanged.append(key)
                continue
            planned.append((source, audience, chunks))

        # Embed everything new in batches first (filling the cache) so the bar shows a real ETA.
        texts = [c.text for _, _, chunks in planned for c in chunks]
        before = self.store.embeddings.misses
        batch = max(1, self.settings.embed_batch_size)
        with tqdm(total=len(texts), desc="embedding", unit="chunk", disable=not progress or not texts) as bar:
            for i in range(0, len(texts), batch):
                self.store.embeddings.embed_documents(texts[i : i + batch])
                bar.update(len(texts[i : i + batch]))
        report.texts_embedded = self.store.embeddings.misses - before
        report.tokens_embedded = sum(len(t) for t in texts) // 4 if report.texts_embedded else 0

        # A run killed midway leaves "writing" on its collections; finishing here must give them a new
        # revision even if no file is left to write, so serving replicas rebuild their lexical indexes.
        touched: set[str] = {aud for aud in AUDIENCES if self.store.interrupted(aud)}
        for aud in {audience for _, audience, _ in planned}:
            self.store.bump_revision(aud, writing=True)
        writing = tqdm(planned, desc="indexing", unit="file", disable=not progress or not planned)
        for source, audience, chunks in writing:
            old = [i for aud in AUDIENCES for i in state[aud].get(source.path, {}).get("ids", [])]
            for aud in AUDIENCES:
                if source.path in state[aud]:
                    self.store.delete(aud, state[aud][source.path]["ids"])
                    touched.add(aud)
            self.store.add(
                audience,
                ids=[c.chunk_id for c in chunks],
                texts=[c.text for c in chunks],
                metadatas=[self.metadata(c, source, len(chunks)) for c in chunks],
            )
            touched.add(audience)
            report.chunks_written += len(chunks)
            (report.updated if old else report.added).append(source.path)

        # A file gone from disk under an ingested root takes its chunks with it.
        for aud in AUDIENCES:
            for key, entry in state[aud].items():
                if key in seen_sources or not any(key == r or key.startswith(r.rstrip("/") + "/") for r in roots):
                    continue
                if not Path(key if Path(key).is_absolute() else PROJECT_ROOT / key).exists():
                    self.store.delete(aud, entry["ids"])
                    report.deleted.append(key)
                    touched.add(aud)
        for aud in touched:
            self.store.bump_revision(aud)
        report.seconds = time.perf_counter() - started
        return report
