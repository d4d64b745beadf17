"""The evaluation suite on small datasets through the real pipeline: runners, JSON schema, gate exit codes."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from assistant.settings import PROJECT_ROOT
from evals.cli import main
from evals.dataset import DatasetError, load_questions, parse_row
from evals.gate import THRESHOLDS, check, load_thresholds
from evals.retrieval import beir_documents
from evals.routing import GROUPS, METRICS
from tests.conftest import EMBED_CACHE

BEIR_SAMPLE = PROJECT_ROOT / "evals" / "beir_sample"
QUESTIONS = [
    {"id": "t-ru-1", "lang": "ru", "question": "как получить справку о несудимости", "expected_services": ["e_004"]},
    {"id": "t-kk-1", "lang": "kk", "question": "соттылық туралы анықтама керек", "expected_services": ["e_004"],
     "kind": "routing"},
    {"id": "t-en-1", "lang": "en", "question": "police clearance certificate online", "expected_services": ["e_004"]},
    {"id": "t-ru-2", "lang": "ru", "question": "а сколько это стоит?", "expected_services": ["e_004"],
     "kind": "followup", "history": [{"role": "user", "content": "Как получить справку о несудимости?"},
                                     {"role": "assistant", "content": "..."}]},
    {"id": "t-en-2", "lang": "en", "question": "Give me a recipe for beshbarmak", "expected_services": []},
    {"id": "t-kk-2", "lang": "kk", "question": "Ертең футбол матчы қашан басталады?", "expected_services": []},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_jsonl(tmp_path / "small.jsonl", QUESTIONS)


@pytest.fixture
def index_args(assistant, index_dir) -> list[str]:
    """Point the runner at the session's real index of corpus/ (already built by the `assistant` fixture)."""
    return ["--data-dir", str(index_dir), "--source", str(PROJECT_ROOT / "corpus"), "--no-ingest", "--quiet"]


def assert_schema(summary: dict) -> None:
    assert set(summary) == set(GROUPS)
    groups = [summary["overall"], *summary["by_lang"].values(), *summary["by_kind"].values()]
    for group in groups:
        assert set(group) == set(METRICS)
        assert isinstance(group["n"], int) and isinstance(group["staff_leaks"], int)
        for key in ("top1", "top3", "refusal_precision", "refusal_recall", "citation_valid"):
            assert group[key] is None or 0.0 <= group[key] <= 1.0
        assert 0 <= group["p50_ms"] <= group["p95_ms"]


def test_routing_runner_scores_the_real_pipeline(dataset, index_args, tmp_path):
    out, report = tmp_path / "out.json", tmp_path / "report"
    assert main(["routing", "--dataset", str(dataset), "--json", str(out), "--report", str(report), *index_args]) == 0
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert_schema(summary)
    overall = summary["overall"]
    assert overall["n"] == len(QUESTIONS)
    assert set(summary["by_lang"]) == {"kk", "ru", "en"}
    assert set(summary["by_kind"]) == {"routing", "followup", "out_of_scope"}
    # e_004 in all three languages and as a follow-up: ranked first every time, never answered wrong
    assert overall["ranked_top1"] == 1.0 and overall["answered_wrong"] == 0 and overall["top1"] >= 0.5
    assert overall["refusal_precision"] == 1.0 and overall["refusal_recall"] == 1.0
    assert overall["citation_valid"] == 1.0 and overall["staff_leaks"] == 0
    assert summary["by_kind"]["out_of_scope"]["top1"] is None  # nothing to route there
    for name in ("report.md", "per_language.png", "latency.png", "confusion.png", "summary.json", "rows.jsonl"):
        assert (report / name).stat().st_size > 0
    details = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert details["ours"]["extras"]["faithfulness"] == 1.0  # composer answers quote their sources
    assert "| ours | kk |" in (report / "report.md").read_text(encoding="utf-8")


def test_baselines_run_in_the_same_run(dataset, index_args, tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_EMBEDDING_CACHE", str(EMBED_CACHE))  # MiniLM vectors are cached too
    rows = QUESTIONS[:1] + QUESTIONS[4:5]
    small = write_jsonl(tmp_path / "two.jsonl", rows)
    out = tmp_path / "run.json"
    before = set(Path(tempfile.gettempdir()).glob("naive-chroma-*"))
    assert main(["routing", "--dataset", str(small), "--json", str(out), "--baselines", *index_args]) == 0
    for name in ("lexical", "dense", "naive"):
        baseline = json.loads((tmp_path / f"run.{name}.json").read_text(encoding="utf-8"))
        assert_schema(baseline)
        assert baseline["overall"]["n"] == 2
    leftovers = set(Path(tempfile.gettempdir()).glob("naive-chroma-*")) - before
    assert not leftovers  # the naive setup's index was a throw-away one


def test_gate_exit_codes_on_a_real_run(dataset, index_args, tmp_path):
    easy, hard = tmp_path / "easy.yaml", tmp_path / "hard.yaml"
    easy.write_text(yaml.safe_dump({"min": {"overall.top1": 0.5, "overall.refusal_recall": 0.5},
                                    "max": {"overall.staff_leaks": 0}}), encoding="utf-8")
    hard.write_text(yaml.safe_dump({"min": {"overall.top1": 1.01}}), encoding="utf-8")
    assert main(["routing", "--dataset", str(dataset), "--gate", "--thresholds", str(easy), *index_args]) == 0
    assert main(["routing", "--dataset", str(dataset), "--gate", "--thresholds", str(hard), *index_args]) == 1
    assert main(["gate", "--dataset", str(dataset), "--thresholds", str(hard), *index_args]) == 1


def test_gate_on_saved_results_from_the_command_line(tmp_path):
    metrics = {"n": 10, "top1": 0.8, "top3": 0.9, "refusal_precision": 0.9, "refusal_recall": 0.7,
               "citation_valid": 1.0, "staff_leaks": 0, "p50_ms": 50.0, "p95_ms": 90.0}
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"overall": metrics, "by_lang": {"kk": metrics}, "by_kind": {}}), encoding="utf-8")
    thresholds = tmp_path / "t.yaml"

    def gate(floors: dict) -> subprocess.CompletedProcess:
        thresholds.write_text(yaml.safe_dump(floors), encoding="utf-8")
        return subprocess.run([sys.executable, "-m", "evals", "gate", "--results", str(results), "--thresholds",
                               str(thresholds)], cwd=PROJECT_ROOT, capture_output=True, text=True)

    assert gate({"min": {"overall.top1": 0.75, "by_lang.kk.refusal_recall": 0.6}}).returncode == 0
    failed = gate({"min": {"overall.top1": 0.85}, "max": {"overall.staff_leaks": 0}})
    assert failed.returncode == 1 and "overall.top1" in failed.stderr
    assert gate({"min": {"by_lang.en.top1": 0.1}}).returncode == 1  # not measured = failed
    assert gate({"nothing": 1}).returncode == 2


def test_committed_thresholds_name_real_metrics():
    thresholds = load_thresholds(THRESHOLDS)
    assert (PROJECT_ROOT / thresholds["dataset"]).is_file()
    for path in [*thresholds.get("min", {}), *thresholds.get("max", {})]:
        *_, metric = path.split(".")
        assert metric in METRICS, path
    perfect = {"n": 1, "top1": 1.0, "top3": 1.0, "ranked_top1": 1.0, "answered_wrong": 0.0, "clarified": 0.0,
               "clarified_right": 1.0, "refusal_precision": 1.0, "refusal_recall": 1.0, "citation_valid": 1.0,
               "act_answered": 1.0, "act_wrong": 0.0, "staff_leaks": 0, "p50_ms": 1.0, "p95_ms": 1.0}
    summary = {"overall": perfect, "by_lang": {lang: perfect for lang in ("kk", "ru", "en")},
               "by_kind": {kind: perfect for kind in ("out_of_catalogue", "out_of_scope")}}
    assert check(summary, thresholds) == []


def test_dataset_rows_get_the_issue_defaults(tmp_path):
    row = parse_row({"id": "x", "lang": "ru", "question": "погода?", "expected_services": []})
    assert (row.kind, row.audience, row.should_refuse) == ("out_of_scope", "public", True)
    assert parse_row({"id": "y", "lang": "kk", "question": "q", "expected_services": ["e_004"]}).kind == "routing"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "lang": "ru", "question": "q", "expected_services": []}\n{"id": "b", "lang": "de"}\n',
                   encoding="utf-8")
    with pytest.raises(DatasetError, match="bad.jsonl:2"):
        load_questions(bad)
    assert main(["routing", "--dataset", str(bad), "--no-ingest", "--quiet"]) == 2


@pytest.mark.parametrize("split", ["dev", "test"])
def test_project_datasets_load(split):
    path = PROJECT_ROOT / "evals" / "datasets" / f"{split}.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} not written yet")
    questions = load_questions(path)
    assert {q.lang for q in questions} == {"kk", "ru", "en"}


def test_beir_adapter_keeps_long_documents_whole_at_document_level():
    long_text = "\n\n".join(f"{n}. Пункт правил номер {n}: " + "текст " * 60 for n in range(1, 12))
    docs = beir_documents([{"_id": "d1", "title": "Правила", "text": long_text},
                           {"_id": "d2", "title": "", "text": "Short English text about apostille fees."}])
    assert [(d.doc_id, d.lang, d.kind, d.audience) for d in docs] == [("d1", "ru", "faq", "public"),
                                                                      ("d2", "en", "faq", "public")]


def test_retrieval_benchmark_on_a_beir_sample(tmp_path):
    """A slice of the shipped sample: the relevant chunks of a few queries plus distractors."""
    corpus = [json.loads(line) for line in (BEIR_SAMPLE / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    queries = [json.loads(line) for line in (BEIR_SAMPLE / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    qrels = [line.split("\t") for line in (BEIR_SAMPLE / "qrels.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    chosen = {q["_id"] for q in queries[:6]}
    relevant = {doc for q, doc, _ in qrels if q in chosen}
    docs = [d for d in corpus if d["_id"] in relevant] + [d for d in corpus if d["_id"] not in relevant][:25]
    write_jsonl(tmp_path / "corpus.jsonl", docs)
    write_jsonl(tmp_path / "queries.jsonl", [q for q in queries if q["_id"] in chosen])
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t{s.strip()}\n" for q, d, s in qrels if q in chosen), encoding="utf-8")
    out = tmp_path / "beir.json"
    code = main(["retrieval", "--corpus", str(tmp_path / "corpus.jsonl"), "--queries", str(tmp_path / "queries.jsonl"),
                 "--qrels", str(tmp_path / "qrels.tsv"), "--k", "3,10", "--json", str(out),
                 "--embedding-cache", str(EMBED_CACHE), "--quiet"])
    assert code == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert set(result) == {"hybrid", "dense", "lexical", "index_seconds", "query_p95_ms"}
    for mode in ("hybrid", "dense", "lexical"):
        assert set(result[mode]) == {f"{m}@{k}" for m in ("recall", "mrr", "ndcg") for k in (3, 10)}
        assert all(0.0 <= v <= 1.0 for v in result[mode].values())
    assert result["hybrid"]["recall@10"] >= 0.5
    assert result["index_seconds"] > 0 and result["query_p95_ms"] > 0


def test_retrieval_benchmark_rejects_bad_qrels(tmp_path):
    write_jsonl(tmp_path / "c.jsonl", [{"_id": "d", "title": "", "text": "x"}])
    write_jsonl(tmp_path / "q.jsonl", [{"_id": "q", "text": "x"}])
    (tmp_path / "r.tsv").write_text("q\td\t1\n", encoding="utf-8")
    assert main(["retrieval", "--corpus", str(tmp_path / "c.jsonl"), "--queries", str(tmp_path / "q.jsonl"),
                 "--qrels", str(tmp_path / "r.tsv"), "--quiet"]) == 2


def test_a_missing_optional_package_is_named_before_any_work(monkeypatch, capsys):
    """After the README's run install (no `[test]` extra), `python -m evals retrieval` says in one line what to install
    instead of failing after the index is built."""
    import importlib.util

    from evals import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ranx" else real(name, *a))
    code = cli.main(["retrieval", "--corpus", "c.jsonl", "--queries", "q.jsonl", "--qrels", "r.tsv"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ["error: `python -m evals retrieval` needs ranx: pip install -e '.[test]'"]
