"""Ingestion against a real Chroma store on disk and the real embedding model."""
from __future__ import annotations

import subprocess
import sys

import pytest

from assistant.components import build_store
from assistant.ingestion import Ingestor
from assistant.settings import PROJECT_ROOT
from assistant.store import IndexModelMismatch
from tests.conftest import make_settings


def run(settings, corpus, **kw):
    return Ingestor(settings, build_store(settings)).run([corpus], progress=False, **kw)


def test_incremental_reingest_embeds_only_what_changed(tmp_path, small_corpus):
    settings = make_settings(tmp_path / "data", corpus_dir=small_corpus,
                             embedding_cache=tmp_path / "data" / "cache.sqlite")
    first = run(settings, small_corpus)
    assert first.ok and first.added and first.texts_embedded > 0

    again = run(settings, small_corpus)
    assert again.texts_embedded == 0 and again.chunks_written == 0
    assert not again.added and not again.updated and len(again.unchanged) == len(first.added)

    card = small_corpus / "services" / "e_004.en.md"
    card.write_text(card.read_text(encoding="utf-8") + "\n- A new sentence about the certificate.\n", encoding="utf-8")
    changed = run(settings, small_corpus)
    assert changed.updated == ["corpus/services/e_004.en.md".replace("corpus", str(small_corpus), 1)] or \
        [p.endswith("services/e_004.en.md") for p in changed.updated] == [True]
    store = build_store(settings)
    en_chunks = store.records("public", where={"doc_id": "e_004-en"})
    assert changed.chunks_written == len(en_chunks)
    assert changed.texts_embedded == 1  # only the edited section is new text
    assert any("A new sentence about the certificate." in r.text for r in en_chunks)

    card.unlink()
    deleted = run(settings, small_corpus)
    assert [p.endswith("services/e_004.en.md") for p in deleted.deleted] == [True]
    assert store.records("public", where={"doc_id": "e_004-en"}) == []
    assert store.records("public", where={"doc_id": "e_004-ru"})


def test_malformed_files_are_reported_and_skipped(tmp_path, small_corpus):
    bad = {
        "no_front_matter.ru.md": "Просто текст без заголовка.",
        "bad_lang.md": "---\nid: x\nkind: service\nlang: de\naudience: public\nservice_codes: []\ntitle: X\n"
                       "source_url: https://egov.kz\neffective_date: 2026-01-01\n---\nText.\n",
        "empty.md": "",
        "broken_yaml.md": "---\nid: [unclosed\n---\nText\n",
    }
    for name, text in bad.items():
        (small_corpus / "services" / name).write_text(text, encoding="utf-8")
    (small_corpus / "services" / "binary.md").write_bytes(b"\xff\xfe\x00bad")
    settings = make_settings(tmp_path / "data", corpus_dir=small_corpus)
    report = run(settings, small_corpus)
    reasons = {p.rsplit("/", 1)[-1]: r for p, r in report.errors}
    assert set(reasons) == set(bad) | {"binary.md"}
    assert "front matter" in reasons["no_front_matter.ru.md"]
    assert "unknown lang 'de'" in reasons["bad_lang.md"]
    assert "empty" in reasons["empty.md"]
    assert "UTF-8" in reasons["binary.md"]
    assert any(p.endswith("e_004.ru.md") for p in report.added)  # the good files still went in

    cli = subprocess.run([sys.executable, "ingest.py", str(small_corpus), "--quiet"], cwd=PROJECT_ROOT,
                         capture_output=True, text=True,
                         env={"ASSISTANT_DATA_DIR": str(tmp_path / "cli"), "PATH": "/usr/bin:/bin",
                              "ASSISTANT_EMBEDDING_CACHE": str(settings.embedding_cache)})
    assert cli.returncode == 1
    assert "bad_lang.md: unknown lang 'de'" in cli.stderr


def test_staff_documents_go_to_their_own_collection(tmp_path, small_corpus):
    if not (small_corpus / "staff").is_dir():
        pytest.skip("no staff procedures in the corpus yet")
    settings = make_settings(tmp_path / "data", corpus_dir=small_corpus)
    run(settings, small_corpus)
    store = build_store(settings)
    assert store.count("staff") > 0
    assert all(r.meta["audience"] == "staff" for r in store.records("staff"))
    assert all(r.meta["audience"] == "public" for r in store.records("public"))


def test_index_refuses_to_mix_embedding_models(tmp_path, small_corpus):
    settings = make_settings(tmp_path / "data", corpus_dir=small_corpus)
    for path in (small_corpus / "services").glob("e_004.[rk]*.md"):
        path.unlink()
    run(settings, small_corpus)
    other = make_settings(tmp_path / "data", corpus_dir=small_corpus, embedder="sentence-transformers")
    with pytest.raises(IndexModelMismatch, match="--rebuild"):
        run(other, small_corpus)
    rebuilt = run(other, small_corpus, rebuild=True)
    assert rebuilt.ok and rebuilt.added
    assert build_store(other).langchain("public")._collection.metadata["embedding_model"].startswith("sentence-transformers/")
