"""The nearest-example routing leg: names and labelled questions as vectors, one's own example left out."""
from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.corpus import Catalogue
from assistant.example_index import ExampleIndex, example_texts, labelled_questions
from assistant.routing import candidate_features
from assistant.settings import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "corpus"


class WordVectors:
    """A stand-in embedder for the unit tests below: one axis per known word (the real e5 is used further down)."""

    def __init__(self, vocabulary: list[str]):
        self.vocabulary = vocabulary

    def _vector(self, text: str) -> list[float]:
        hits = [float(w in text.lower()) for w in self.vocabulary]
        v = np.array(hits + [0.0 if any(hits) else 1.0])  # a text with none of the words points elsewhere
        return (v / np.linalg.norm(v)).tolist()

    def embed_documents(self, texts):
        return [self._vector(t) for t in texts]

    def embed_query(self, text):
        return self._vector(text)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load(CORPUS)


def test_examples_are_every_name_and_every_labelled_question(tmp_path, catalogue):
    questions = tmp_path / "dev.jsonl"
    rows = [{"id": "q1", "question": "бумажка что я не сидел", "expected_services": ["e_004"]},
            {"id": "q2", "question": "погода завтра", "expected_services": []},  # a refusal row teaches nothing here
            {"id": "q3", "question": "and after that?", "expected_services": ["e_004"],
             "history": [{"role": "user", "content": "x"}]}]  # a follow-up means nothing without its history
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{broken\n", encoding="utf-8")
    assert [r["id"] for r in labelled_questions(questions)] == ["q1"]
    examples = example_texts(catalogue, None, questions)
    e_004 = [(text, ident) for code, text, ident in examples if code == "e_004"]
    assert ("бумажка что я не сидел", "q1") in e_004
    assert (catalogue.get("e_004").title["kk"], "") in e_004
    assert len({code for code, _, _ in examples}) == len(catalogue)


def test_the_nearest_example_ranks_its_service_and_can_be_left_out(tmp_path, catalogue):
    questions = tmp_path / "dev.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "zzbumazhka zzsidel", "expected_services": ["e_004"]}) + "\n",
                         encoding="utf-8")
    index = ExampleIndex.build(catalogue, WordVectors(["zzbumazhka", "zzsidel"]), None, questions)
    found = index.evidence("zzbumazhka zzsidel")
    assert next(iter(found)) == "e_004" and found["e_004"].rank == 0 and found["e_004"].cosine > 0.99
    assert found["e_004"].votes > 0
    # fitting the router: the question's own example is left out, so it is not found by itself
    assert index.evidence("zzbumazhka zzsidel", exclude="q1").get("e_004") is None or \
        index.evidence("zzbumazhka zzsidel", exclude="q1")["e_004"].cosine < 0.5
    assert index.cosine("zzbumazhka zzsidel", "e_004") > 0.99
    assert index.cosine("zzbumazhka zzsidel", "e_004", exclude="q1") < 0.5
    assert index.cosine("anything", "no-such-code") == 0.0


def test_the_leg_gives_every_candidate_its_features(tmp_path, catalogue):
    questions = tmp_path / "dev.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": "zzbumazhka", "expected_services": ["e_004"]}) + "\n",
                         encoding="utf-8")
    index = ExampleIndex.build(catalogue, WordVectors(["zzbumazhka"]), None, questions)
    with_leg = candidate_features([], "zzbumazhka", catalogue, None, ("examples",), index)
    assert with_leg["e_004"]["knn_rank"] == 1.0 and with_leg["e_004"]["knn"] > 0
    without = candidate_features([], "zzbumazhka", catalogue, None, ("dense",), index)
    assert "e_004" not in without


def test_the_real_router_routes_by_its_examples(assistant):
    """With the real e5 vectors and its own fit: the example leg holds the dev questions, a dev question's nearest
    service is its own when its example is left in, and the five-leg router routes a title to its service."""
    from assistant.components import build_router

    legs = ["dense", "lexical", "names", "chars", "examples"]
    router = build_router(assistant.settings.model_copy(update={"routing_legs": legs}), assistant.catalogue,
                          assistant.store.embeddings)
    assert router.examples is not None and router.legs == tuple(legs)
    row = labelled_questions(assistant.settings.routing_examples)[0]
    found = router.examples.evidence(row["question"])
    best = next(iter(found))
    assert best in row["expected_services"] and found[best].cosine > 0.95  # query vs passage prefixes: not 1.0
    title = assistant.catalogue.get("e_004").title["ru"]
    hits = assistant.retriever.search(title)
    assert router.decide(hits, title, "ru").candidates[0].code == "e_004"
    assert assistant.router.examples is None  # off by default (README "Routing")
