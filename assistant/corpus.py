"""Reads the corpus formats into `SourceDocument`s: Markdown cards, the catalogue, regulation acts."""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

log = logging.getLogger(__name__)
LANGS = ("kk", "ru", "en")
KINDS = ("service", "regulation", "procedure", "faq", "situation", "catalogue", "portal")
AUDIENCES = ("public", "staff")
REQUIRED_KEYS = ("id", "kind", "lang", "audience", "service_codes", "title", "source_url", "effective_date")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.S)
_CODE = re.compile(r"^[A-Za-z0-9_\-]+$")


class CorpusError(ValueError):
    """A corpus file that cannot be used, with the reason a person can act on."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass
class SourceDocument:
    """One document in one language, ready to be chunked."""

    doc_id: str
    kind: str
    lang: str
    audience: str
    title: str
    text: str
    source_url: str
    service_codes: list[str] = field(default_factory=list)
    effective_date: str = ""
    meta: dict = field(default_factory=dict)


@dataclass
class SourceFile:
    """A file on disk and the documents it yields; the unit of incremental ingestion."""

    path: str
    content_hash: str
    documents: list[SourceDocument]


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def parse_markdown(path: Path) -> SourceDocument:
    """Parse one Markdown document with YAML front matter, checking every required key."""
    raw = _text(path)
    if not raw.strip():
        raise CorpusError(path, "empty file")
    match = _FRONT_MATTER.match(raw.lstrip("\ufeff"))
    if not match:
        raise CorpusError(path, "no YAML front matter (the file must start with '---')")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise CorpusError(path, f"bad YAML front matter: {exc}".splitlines()[0]) from exc
    if not isinstance(meta, dict):
        raise CorpusError(path, "front matter is not a mapping")
    missing = [k for k in REQUIRED_KEYS if k not in meta or meta[k] in (None, "")]
    if missing:
        raise CorpusError(path, f"missing front matter keys: {', '.join(missing)}")
    if meta["lang"] not in LANGS:
        raise CorpusError(path, f"unknown lang {meta['lang']!r} (expected one of {', '.join(LANGS)})")
    if meta["kind"] not in KINDS:
        raise CorpusError(path, f"unknown kind {meta['kind']!r} (expected one of {', '.join(KINDS)})")
    if meta["audience"] not in AUDIENCES:
        raise CorpusError(path, f"unknown audience {meta['audience']!r} (expected public or staff)")
    codes = meta["service_codes"] or []
    if isinstance(codes, str):
        codes = [codes]
    if not isinstance(codes, list) or not all(isinstance(c, str) and _CODE.match(c) for c in codes):
        raise CorpusError(path, "service_codes must be a list of portal codes like e_004")
    body = match.group(2).strip()
    if not body:
        raise CorpusError(path, "no text after the front matter")
    return SourceDocument(
        doc_id=str(meta["id"]),
        kind=meta["kind"],
        lang=meta["lang"],
        audience=meta["audience"],
        title=str(meta["title"]).strip(),
        text=body,
        source_url=str(meta["source_url"]),
        service_codes=list(codes),
        effective_date=str(meta["effective_date"]),
        meta={k: v for k, v in meta.items() if k not in REQUIRED_KEYS},
    )


# --- Catalogue -------------------------------------------------------------------------


@dataclass
class ServiceEntry:
    """One egov.kz e-service: its portal code, titles and the words citizens use for it."""

    code: str
    category: str
    url: str
    title: dict[str, str]
    keywords: dict[str, list[str]] = field(default_factory=dict)

    def url_for(self, lang: str) -> str:
        """The portal page in the citizen's language (egov.kz keeps one path per language)."""
        return self.url.replace("/cms/ru/", f"/cms/{lang}/") if lang in LANGS else self.url

    def title_for(self, lang: str) -> str:
        return self.title.get(lang) or self.title.get("ru") or self.code


def parse_catalogue_file(path: Path) -> list[ServiceEntry]:
    """One catalogue YAML file: a list of services."""
    try:
        rows = yaml.safe_load(_text(path))
    except yaml.YAMLError as exc:
        raise CorpusError(path, f"bad YAML: {exc}".splitlines()[0]) from exc
    if not isinstance(rows, list) or not rows:
        raise CorpusError(path, "a catalogue file must be a non-empty YAML list of services")
    entries = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not row.get("code") or not isinstance(row.get("title"), dict):
            raise CorpusError(path, f"entry {i + 1}: needs at least code and title {{kk, ru, en}}")
        entries.append(
            ServiceEntry(
                code=str(row["code"]),
                category=str(row.get("category", "")),
                url=str(row.get("url", "")),
                title={k: str(v) for k, v in row["title"].items() if v},
                keywords={k: [str(w) for w in (v or [])] for k, v in (row.get("keywords") or {}).items()},
            )
        )
    return entries


class Catalogue:
    """All e-services by portal code, merged from `corpus/catalogue/*.yaml`."""

    def __init__(self, entries: list[ServiceEntry]):
        self.by_code: dict[str, ServiceEntry] = {}
        for entry in entries:
            if entry.code in self.by_code:
                raise CorpusError("catalogue", f"duplicate service code {entry.code}")
            self.by_code[entry.code] = entry

    @classmethod
    def load(cls, corpus_dir: Path) -> "Catalogue":
        entries: list[ServiceEntry] = []
        for path in sorted((corpus_dir / "catalogue").glob("*.yaml")):
            entries.extend(parse_catalogue_file(path))
        return cls(entries)

    def get(self, code: str) -> ServiceEntry | None:
        return self.by_code.get(code)

    def __contains__(self, code: str) -> bool:
        return code in self.by_code

    def __len__(self) -> int:
        return len(self.by_code)


def catalogue_documents(path: Path) -> list[SourceDocument]:
    """Each service becomes one short routable document per language: title, keywords, category."""
    docs = []
    for entry in parse_catalogue_file(path):
        for lang in LANGS:
            if lang not in entry.title:
                continue
            words = ", ".join(entry.keywords.get(lang, []))
            text = f"{entry.title[lang]}." + (f" {words}." if words else "")
            docs.append(
                SourceDocument(
                    doc_id=f"catalogue-{entry.code}-{lang}",
                    kind="catalogue",
                    lang=lang,
                    audience="public",
                    title=entry.title[lang],
                    text=text,
                    source_url=entry.url_for(lang),
                    service_codes=[entry.code],
                    meta={"category": entry.category},
                )
            )
    return docs


# --- Regulations (../shared/data/regulations format) ------------------------------------

REGULATION_FILES = {"kaz.md": "kk", "rus.md": "ru"}


def is_regulation_folder(path: Path) -> bool:
    return path.is_dir() and (path / "meta.yaml").is_file() and any((path / f).is_file() for f in REGULATION_FILES)


def load_act_links(corpus_dir: Path) -> dict[str, list[str]]:
    """Which service codes each act governs (`corpus/regulations.yaml`)."""
    path = corpus_dir / "regulations.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(_text(path)) or {}
    acts = data.get("acts", {}) if isinstance(data, dict) else {}
    return {str(k): list((v or {}).get("service_codes") or []) for k, v in acts.items()}


def parse_regulation(path: Path, act_links: dict[str, list[str]]) -> SourceDocument:
    """One language file of an act folder (meta.yaml + kaz.md + rus.md), with its official URL and dates."""
    folder = path.parent
    lang = REGULATION_FILES[path.name]
    try:
        meta = yaml.safe_load(_text(folder / "meta.yaml")) or {}
    except yaml.YAMLError as exc:
        raise CorpusError(folder / "meta.yaml", f"bad YAML: {exc}".splitlines()[0]) from exc
    side = "kaz" if lang == "kk" else "rus"
    text = _text(path).strip()
    if not text:
        raise CorpusError(path, "empty file")
    title = (meta.get("title") or {}).get(side) or text.splitlines()[0].lstrip("# ")
    version = (meta.get("version_date") or {}).get(side, "")
    return SourceDocument(
        doc_id=f"act-{folder.name}-{lang}",
        kind="regulation",
        lang=lang,
        audience="public",
        title=str(title),
        text=text,
        source_url=str((meta.get("source") or {}).get(side, "")),
        service_codes=act_links.get(folder.name, []),
        effective_date=str(version),
        meta={"act": folder.name, "requisite": str(meta.get("requisite", "")), "approved_on": str(meta.get("approved_on", ""))},
    )


# --- The portal's own service pages (../shared/data/egov/egov_portal_pages_kk.jsonl) -------

PORTAL_SUFFIX = ".jsonl"


def portal_documents(path: Path, known_codes: set[str], crawled: str = "") -> list[SourceDocument]:
    """One document per service page (the file holds Kazakh pages), cited as the egov.kz page of its code.

    A page whose code is not in our catalogue is still indexed and citable, but routes to no service."""
    docs = []
    for n, line in enumerate(_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            page = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(path, f"line {n} is not JSON ({exc.msg})") from exc
        if not isinstance(page, dict) or not page.get("code") or not page.get("url"):
            raise CorpusError(path, f"line {n} has no code or url")
        code = str(page["code"])
        if not str(page["url"]).startswith("https://"):  # one crawled page holds a title where code and url go
            log.warning("%s: line %d: url %r is not a web address; page skipped", path, n, str(page["url"])[:60])
            continue
        # The crawler stored line breaks as the two characters "\n".
        steps = str(page.get("instructions_kk") or "").replace("\\n", "\n").strip()
        keywords = ", ".join(page.get("keywords_kk") or [])
        title = str(page.get("title_kk") or page.get("description_kk") or code).strip()
        parts = [title, str(page.get("description_kk") or "").strip(), keywords and f"{keywords}.", steps]
        docs.append(SourceDocument(
            doc_id=f"portal-{code}-kk", kind="portal", lang="kk", audience="public", title=title,
            text="\n\n".join(p for p in parts if p), source_url=str(page["url"]),
            service_codes=[code] if code in known_codes else [], effective_date=crawled,
            meta={"category": str(page.get("category_kk") or "")},
        ))
    if not docs:
        raise CorpusError(path, "no portal pages in the file")
    return docs


def jsonl_objects(path: Path | None) -> list[dict]:
    """The JSON objects of a JSONL file, for data that only helps (routing names, labelled examples): a line that
    is not a JSON object is skipped with a warning naming it, and an absent file gives none. Corpus sources that
    are indexed and cited are read strictly instead (`portal_documents`)."""
    if path is None or not Path(path).is_file():
        return []
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            log.warning("%s:%d: not JSON (%s); line skipped", path, n, exc)
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def load_egov_csv(path: Path) -> list[dict]:
    """The real egov.kz catalogue CSV (for validation and evaluation), with codes extracted."""
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["code"] = row["link"].rstrip("/").split("/")[-1]
    return rows
