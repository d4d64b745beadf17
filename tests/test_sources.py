"""The official sources beside corpus/: the portal pages reader, what is indexed by default, provenance of numbers."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.corpus import CorpusError, parse_markdown, portal_documents
from assistant.ingestion import Ingestor, source_key
from assistant.provenance import Sources, bad_source_kinds, checked_files, unsourced
from assistant.service import Assistant
from assistant.settings import PROJECT_ROOT, Settings
from tests.conftest import PORTAL_PAGES, REGULATIONS, make_settings, needs_shared


@needs_shared
def test_portal_pages_become_one_cited_kazakh_document_per_service():
    docs = portal_documents(PORTAL_PAGES, {"e_004"}, crawled="2025-02")
    assert len(docs) == 277 and len({d.doc_id for d in docs}) == 277  # one crawled line has no code or url
    assert all(d.kind == "portal" and d.lang == "kk" and d.effective_date == "2025-02" for d in docs)
    assert all(d.source_url == f"https://egov.kz/cms/kk/online-services/for_citizen/{d.doc_id[7:-3]}" for d in docs)
    e_004 = next(d for d in docs if d.doc_id == "portal-e_004-kk")
    assert e_004.service_codes == ["e_004"] and "\\n" not in e_004.text and "\n" in e_004.text
    # A page of a code our catalogue does not have is indexed but routes nowhere.
    assert all(d.service_codes == [] for d in docs if d.doc_id != "portal-e_004-kk")


def test_a_broken_portal_file_is_a_clear_error(tmp_path):
    path = tmp_path / "pages.jsonl"
    path.write_text(json.dumps({"code": "e_004", "url": "https://egov.kz/x"}) + "\n{broken\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="line 2 is not JSON"):
        portal_documents(path, set())
    path.write_text(json.dumps({"title_kk": "no code"}) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="line 1 has no code"):
        portal_documents(path, set())


def test_default_sources_are_the_official_texts_when_present(tmp_path):
    default = Settings(data_dir=tmp_path)
    expected = [PROJECT_ROOT / "corpus", *(p for p in (REGULATIONS, PORTAL_PAGES) if p.exists())]
    assert [p.resolve() for p in default.sources()] == [p.resolve() for p in expected]
    # An operator's own list is kept as given, so a missing folder is reported by ingest instead of ignored.
    named = Settings(data_dir=tmp_path, extra_sources=[tmp_path / "missing"])
    assert named.sources()[-1] == tmp_path / "missing"
    assert Settings(data_dir=tmp_path, extra_sources=[]).sources() == [default.corpus_dir]


@needs_shared
def test_portal_pages_ingest_incrementally_and_are_counted_per_source(tmp_path, small_corpus):
    pages = tmp_path / "pages.jsonl"
    lines = [line for line in PORTAL_PAGES.read_text(encoding="utf-8").splitlines() if line.strip()][:5]
    pages.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = make_settings(tmp_path / "index", corpus_dir=small_corpus, extra_sources=[pages])
    assistant = Assistant(settings)
    first = assistant.ingest(progress=False)
    assert first.ok and source_key(pages) in first.added
    assert Ingestor(settings, assistant.store).run(settings.sources(), progress=False).unchanged
    summary = {s["source"]: s for s in assistant.retriever.source_summary([source_key(p) for p in settings.sources()])}
    assert summary[source_key(pages)]["documents"] == 5 and summary[source_key(pages)]["oldest_date"] == "2025-02"
    assert summary[source_key(small_corpus)]["documents"] > 0


# --- Provenance: every number a card states occurs in a source it names ------------------------------


@needs_shared
@pytest.mark.parametrize("path", checked_files(PROJECT_ROOT / "corpus"), ids=lambda p: p.name)
def test_every_number_in_a_card_comes_from_a_named_source(path):
    doc = parse_markdown(path)
    assert not bad_source_kinds(doc), bad_source_kinds(doc)
    assert not unsourced(doc, Sources()), f"{path.name}: numbers in no named source: {unsourced(doc, Sources())}"


@needs_shared
def test_the_provenance_check_catches_an_invented_fee(tmp_path):
    card = (PROJECT_ROOT / "corpus" / "services" / "e_004.ru.md").read_text(encoding="utf-8")
    path: Path = tmp_path / "e_004.ru.md"
    path.write_text(card.replace("## Стоимость\n", "## Стоимость\n\n- Госпошлина 7,25 МРП.\n"), encoding="utf-8")
    doc = parse_markdown(path)
    assert unsourced(doc, Sources()) == ["7,25"]
    doc.meta["sources"] = ["wikipedia"]
    assert bad_source_kinds(doc)
