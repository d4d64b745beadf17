"""Validation of corpus/: every file parses, every code and URL is real, every card exists in kk/ru/en."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from assistant.composer import SECTION_SLOTS
from assistant.corpus import Catalogue, load_act_links, load_egov_csv, parse_markdown
from assistant.settings import PROJECT_ROOT
from tests.conftest import EGOV_CSV, REGULATIONS, needs_shared

CORPUS = PROJECT_ROOT / "corpus"
DOCS = sorted(p for sub in ("services", "situations", "staff") for p in (CORPUS / sub).glob("*.md"))


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load(CORPUS)


@pytest.fixture(scope="module")
def documents():
    return {path: parse_markdown(path) for path in DOCS}


def well_formed(url: str) -> bool:
    parts = urlparse(url)
    return parts.scheme == "https" and bool(parts.netloc) and " " not in url


def test_every_document_parses_and_names_only_catalogue_codes(documents, catalogue):
    assert documents, "corpus has no documents"
    for path, doc in documents.items():
        assert doc.lang in path.name, f"{path}: lang {doc.lang} does not match the file name"
        for code in doc.service_codes:
            assert code in catalogue, f"{path}: unknown service code {code}"
        if doc.meta.get("sample"):  # a sample procedure has no real address: it says so instead of inventing one
            assert doc.source_url == "sample", f"{path}: a sample document's source_url must be 'sample'"
        else:
            assert well_formed(doc.source_url), f"{path}: bad source_url {doc.source_url}"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", doc.effective_date), f"{path}: effective_date must be YYYY-MM-DD"


def test_ids_are_unique(documents):
    ids = Counter(doc.doc_id for doc in documents.values())
    assert not [i for i, n in ids.items() if n > 1]


def test_catalogue_entries_are_complete(catalogue):
    assert len(catalogue) > 0
    for entry in catalogue.by_code.values():
        assert set(entry.title) == {"kk", "ru", "en"}, entry.code
        assert all(entry.title.values()), entry.code
        assert well_formed(entry.url) and entry.url.startswith("https://egov.kz/"), entry.code
        for lang in ("kk", "ru", "en"):
            assert entry.keywords.get(lang), f"{entry.code}: no {lang} keywords"


@needs_shared
def test_catalogue_is_exactly_the_real_egov_catalogue(catalogue):
    rows = load_egov_csv(EGOV_CSV)
    real = {r["code"]: r for r in rows}
    assert set(catalogue.by_code) == set(real)
    for code, entry in catalogue.by_code.items():
        assert entry.url == "https://egov.kz" + real[code]["link"]
        assert entry.title["ru"] == real[code]["service"].strip()


def test_every_card_exists_in_three_languages_with_spec_headings(documents, catalogue):
    cards = defaultdict(set)
    for path, doc in documents.items():
        if doc.kind != "service":
            continue
        assert doc.doc_id == f"{doc.service_codes[0]}-{doc.lang}", path
        assert len(doc.service_codes) == 1, path
        cards[doc.service_codes[0]].add(doc.lang)
        headings = re.findall(r"^##\s+(.+?)\s*$", doc.text, re.M)
        unknown = [h for h in headings if h.lower() not in SECTION_SLOTS]
        assert not unknown, f"{path}: headings not in the spec: {unknown}"
        assert f"/cms/{doc.lang}/" in doc.source_url, f"{path}: source_url not in the card's language"
    incomplete = {code: langs for code, langs in cards.items() if langs != {"kk", "ru", "en"}}
    assert not incomplete
    missing = sorted(set(catalogue.by_code) - set(cards))
    assert not missing, f"{len(missing)} catalogue services have no card: {missing[:10]}"


def test_every_card_cites_a_regulation_or_says_none_is_known(documents):
    acts = set(load_act_links(CORPUS))
    for path, doc in documents.items():
        if doc.kind != "service":
            continue
        regs = doc.meta.get("regulations")
        assert isinstance(regs, list), f"{path}: regulations must be a list"
        if not regs:
            assert doc.meta.get("regulation_note"), f"{path}: no regulation and no regulation_note"
        for reg in regs:
            assert reg.get("act") and reg.get("point"), f"{path}: regulation needs act and point"
            assert reg["act"] in acts or (REGULATIONS / reg["act"]).is_dir(), f"{path}: unknown act {reg['act']}"


def test_life_situations_cover_the_main_events(documents):
    situations = defaultdict(set)
    for path, doc in documents.items():
        if doc.kind == "situation":
            assert doc.audience == "public" and len(doc.service_codes) >= 2, path
            situations[doc.doc_id.rsplit("-", 1)[0]].add(doc.lang)
    assert len(situations) >= 8
    assert all(langs == {"kk", "ru", "en"} for langs in situations.values()), situations


def test_staff_procedures_are_marked_sample_and_staff(documents):
    staff = [doc for doc in documents.values() if doc.kind == "procedure"]
    assert len({d.doc_id.rsplit("-", 1)[0] for d in staff}) >= 15
    for doc in staff:
        assert doc.audience == "staff" and doc.meta.get("sample") is True, doc.doc_id
        assert doc.source_url == "sample" and "intranet" not in doc.text, f"{doc.doc_id}: no invented addresses"
        assert "Sample content" in doc.text.splitlines()[0], f"{doc.doc_id}: must open by saying it is a sample"
    assert all(d.audience == "public" for d in documents.values() if d.kind != "procedure")


def test_regulation_links_name_real_acts_and_codes(catalogue):
    path = CORPUS / "regulations.yaml"
    if not path.is_file():
        pytest.skip("no regulations.yaml")
    links = load_act_links(CORPUS)
    for act, codes in links.items():
        if REGULATIONS.is_dir():
            assert (REGULATIONS / act / "meta.yaml").is_file(), f"unknown act folder {act}"
        for code in codes:
            assert code in catalogue, f"{act}: unknown code {code}"
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["acts"]
