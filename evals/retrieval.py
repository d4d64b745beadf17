"""Retrieval benchmark on BEIR-format files, with the project's own chunking, embedding and retrieval.

    python -m evals retrieval --corpus corpus.jsonl --queries queries.jsonl --qrels qrels.tsv [--k 6,10] [--json OUT]

BEIR documents become `SourceDocument`s (one per `_id`), are chunked and embedded exactly as
corpus files are, and go into a throw-away store. Metrics are at document level: a document is
found at the rank of its best chunk. Scored with ranx for hybrid (ours), dense and lexical.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from assistant.components import build_store
from assistant.corpus import CorpusError, SourceDocument, SourceFile
from assistant.ingestion import Ingestor
from assistant.language import detect_language
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings
from evals.systems import eval_settings

log = logging.getLogger(__name__)
MODES = ("hybrid", "dense", "lexical")
CHUNKS_PER_DOC = 5  # chunks fetched per document cut-off, so long documents still fill the top k


class BeirError(ValueError):
    """A BEIR file that cannot be read, with the file and line."""


def _jsonl(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BeirError(f"{path}:{n}: invalid JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or "_id" not in row or not isinstance(row.get("text"), str):
            raise BeirError(f"{path}:{n}: needs _id and text")
        rows.append(row)
    return rows


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels TSV (header `query-id corpus-id score`); score 0 rows are kept as non-relevant."""
    qrels: dict[str, dict[str, int]] = {}
    with Path(path).open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, None)
        if not header or [h.strip() for h in header[:3]] != ["query-id", "corpus-id", "score"]:
            raise BeirError(f"{path}: the first line must be the header `query-id\\tcorpus-id\\tscore`")
        for n, row in enumerate(reader, 2):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 3:
                raise BeirError(f"{path}:{n}: expected three tab-separated columns")
            try:
                qrels.setdefault(row[0], {})[row[1]] = int(float(row[2]))
            except ValueError as exc:
                raise BeirError(f"{path}:{n}: score {row[2]!r} is not a number") from exc
    return qrels


def beir_documents(rows: list[dict]) -> list[SourceDocument]:
    """The adapter: a BEIR document → one public `SourceDocument` (language detected from its text)."""
    docs = []
    for row in rows:
        title = str(row.get("title") or "").strip()
        text = row["text"].strip()
        docs.append(SourceDocument(
            doc_id=str(row["_id"]), kind="faq", lang=detect_language(f"{title} {text[:1000]}"), audience="public",
            title=title, text=text, source_url=str(row.get("url", "")), service_codes=[],
        ))
    return docs


def index_documents(settings: Settings, documents: list[SourceDocument], progress: bool = True) -> tuple:
    """Chunk, embed (cached) and store the documents with the ingestion code; returns (store, seconds)."""
    started = time.perf_counter()
    store = build_store(settings)
    store.reset()
    ingestor = Ingestor(settings, store)
    planned = []
    for doc in documents:
        source = SourceFile(f"beir/{doc.doc_id}", hashlib.sha256(doc.text.encode()).hexdigest(), [doc])
        try:
            planned.append((source, ingestor.chunk(source)))
        except CorpusError as exc:
            log.warning("BEIR document %s skipped: %s", doc.doc_id, exc.reason)
    texts = [c.text for _, chunks in planned for c in chunks]
    batch = max(1, settings.embed_batch_size)
    with tqdm(total=len(texts), desc="embedding", unit="chunk", disable=not progress) as bar:
        for i in range(0, len(texts), batch):
            store.embeddings.embed_documents(texts[i: i + batch])
            bar.update(len(texts[i: i + batch]))
    ids, bodies, metas = [], [], []
    for source, chunks in planned:
        for c in chunks:
            ids.append(c.chunk_id)
            bodies.append(c.text)
            metas.append(Ingestor.metadata(c, source, len(chunks)))
    for i in range(0, len(ids), 1000):
        store.add("public", ids[i: i + 1000], bodies[i: i + 1000], metas[i: i + 1000])
    store.bump_revision("public")
    return store, time.perf_counter() - started


def document_run(retriever: HybridRetriever, queries: dict[str, str], mode: str, max_k: int
                 ) -> tuple[dict[str, dict[str, float]], list[float]]:
    """Per query, documents in the order of their best chunk (scores are descending ranks)."""
    depth = max(retriever.settings.candidate_k, max_k * CHUNKS_PER_DOC)
    run, latencies = {}, []
    for qid, text in queries.items():
        t0 = time.perf_counter()
        hits = retriever.search(text, audience="public", k=depth, mode=mode)
        latencies.append((time.perf_counter() - t0) * 1000)
        ranked: list[str] = []
        for hit in hits:
            doc_id = hit.meta.get("doc_id", "")
            if doc_id not in ranked:
                ranked.append(doc_id)
        run[qid] = {doc_id: float(len(ranked) - i) for i, doc_id in enumerate(ranked[:max_k])}
    return run, latencies


def score(qrels: dict, run: dict, ks: list[int]) -> dict[str, float]:
    from ranx import Qrels, Run, evaluate

    # ranx needs a non-empty ranking per query; a query that found nothing scores 0 either way.
    run = {q: (docs or {"__nothing__": 0.0}) for q, docs in run.items() if q in qrels}
    metrics = [f"{m}@{k}" for k in ks for m in ("recall", "mrr", "ndcg")]
    values = evaluate(Qrels.from_dict(qrels), Run.from_dict(run), metrics, make_comparable=True)
    return {m: round(float(values[m]), 4) for m in metrics}


def benchmark(corpus: Path, queries_path: Path, qrels_path: Path, ks: list[int], settings: Settings,
              progress: bool = True) -> dict:
    """The JSON the issue specifies: per retriever metrics, index_seconds, query_p95_ms (hybrid)."""
    documents = beir_documents(_jsonl(corpus))
    queries = {str(r["_id"]): r["text"] for r in _jsonl(queries_path)}
    qrels = load_qrels(qrels_path)
    unknown = set(qrels) - set(queries)
    if unknown:
        raise BeirError(f"{qrels_path}: query ids not in {queries_path}: {', '.join(sorted(unknown)[:5])}")
    queries = {q: t for q, t in queries.items() if q in qrels}
    settings = settings.model_copy(update={"candidate_k": max(settings.candidate_k, max(ks) * CHUNKS_PER_DOC)})
    store, seconds = index_documents(settings, documents, progress)
    retriever = HybridRetriever(settings, store)
    result: dict = {}
    p95 = 0.0
    for mode in MODES:
        run, latencies = document_run(retriever, queries, mode, max(ks))
        result[mode] = score(qrels, run, ks)
        if mode == "hybrid":
            p95 = float(np.percentile(latencies, 95)) if latencies else 0.0
    result["index_seconds"] = round(seconds, 2)
    result["query_p95_ms"] = round(p95, 1)
    return result


def print_table(result: dict, ks: list[int]) -> None:
    cols = [f"{m}@{k}" for k in ks for m in ("recall", "mrr", "ndcg")]
    print("| retriever | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for mode in MODES:
        print(f"| {mode} | " + " | ".join(f"{result[mode][c]:.3f}" for c in cols) + " |")
    print(f"index_seconds: {result['index_seconds']}, query_p95_ms (hybrid): {result['query_p95_ms']}")


def main(args) -> int:
    try:
        ks = sorted({int(k) for k in str(args.k).split(",") if k.strip()})
        if not ks or min(ks) < 1:
            raise ValueError
    except ValueError:
        print(f"error: --k must be positive integers like 6,10, not {args.k!r}", file=sys.stderr)
        return 2
    tmp = None if args.data_dir else Path(tempfile.mkdtemp(prefix="beir-"))
    try:
        overrides = {"embedding_cache": args.embedding_cache} if args.embedding_cache else {}
        settings = eval_settings(args.data_dir or tmp, **overrides)
        result = benchmark(args.corpus, args.queries, args.qrels, ks, settings, progress=not args.quiet)
    except (BeirError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    print_table(result, ks)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0
