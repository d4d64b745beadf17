"""Scale benchmark: retrieval and `/api/ask` latency (p50/p95), ingest throughput and memory as the index
grows to 1k, 10k and 50k chunks.

    python -m evals.scale                                   # 1k, 10k, 50k (the README's numbers)
    python -m evals.scale --sizes 1000 --queries 30 --out evals/out/scale-ci   # what CI runs

The index is built from real chunks: corpus/ (≈2.8k chunks) and, above that, padding from the official
acts in ../shared/data/regulations (corpus/ again when they are absent). Real chunks carry their real
multilingual-e5 vectors (embedded once, then read from the vector cache). Padding reuses those texts
and vectors, each vector with a small random perturbation (σ = 0.01 per dimension, renormalised), so
50k chunks cost minutes instead of the hours real embedding would take on two CPU cores; a padded
chunk competes in both retrieval legs like a real act would. Below the corpus size, a random subset
of the corpus is taken.

Per size: the vector store's write throughput, the in-process hybrid retrieval latency (dense +
BM25 + fusion, after the one-off BM25 build, which is reported too), then `python app.py` on that
index answering the dev and test questions over HTTP one at a time (p50/p95), and that process's
resident memory (RSS). Embedding throughput (the part of ingest that dominates) is measured once on
texts no cache has seen. Writes scale.json, scale.md and scale.png to --out.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from assistant.components import build_store
from assistant.embeddings import build_embeddings
from assistant.ingestion import Ingestor, discover
from assistant.retrieval import HybridRetriever
from assistant.settings import PROJECT_ROOT, Settings
from evals.appserver import running_app

REGULATIONS = PROJECT_ROOT.parent / "shared" / "data" / "regulations"
QUESTION_SETS = [PROJECT_ROOT / "evals" / "datasets" / "dev.jsonl", PROJECT_ROOT / "evals" / "datasets" / "test.jsonl"]
DEFAULT_SIZES = [1000, 10000, 50000]
PERTURBATION = 0.01


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else 0.0


def load_questions(n: int, seed: int) -> list[str]:
    rows = []
    for path in QUESTION_SETS:
        if path.is_file():
            rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [r["question"] for r in rows if r.get("audience", "public") == "public"]
    random.Random(seed).shuffle(questions)
    return questions[:n]


def real_chunks(settings: Settings, roots: list[Path]) -> list[dict]:
    """Public chunks of the given folders with the metadata ingestion would store (not written anywhere)."""
    ingestor = Ingestor(settings, build_store(settings))
    out = []
    for path in discover(roots):
        try:
            source = ingestor.read(path)
            chunks = ingestor.chunk(source)
        except Exception:
            continue  # reported by ingest.py; the benchmark only needs the good files
        if {d.audience for d in source.documents} != {"public"}:
            continue
        out += [{"id": c.chunk_id, "text": c.text, "meta": Ingestor.metadata(c, source, len(chunks))} for c in chunks]
    return out


def with_vectors(chunks: list[dict], embeddings, batch: int = 32) -> list[dict]:
    texts = [c["text"] for c in chunks]
    vectors = []
    for i in range(0, len(texts), batch):
        vectors += embeddings.embed_documents(texts[i:i + batch])
        print(f"\r  vectors {min(i + batch, len(texts))}/{len(texts)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    for c, v in zip(chunks, vectors):
        c["vector"] = np.asarray(v, dtype=np.float32)
    return chunks


def build_index(size: int, corpus: list[dict], padding: list[dict], settings: Settings, seed: int) -> dict:
    """Writes `size` chunks into a fresh embedded store at settings.data_dir; returns write timings."""
    rng = np.random.default_rng(seed)
    if size <= len(corpus):
        chosen = [corpus[i] for i in sorted(rng.choice(len(corpus), size, replace=False))]
    else:
        chosen = list(corpus)
        pool = padding or corpus
        for i in range(size - len(corpus)):
            src = pool[i % len(pool)]
            v = src["vector"] + rng.normal(0.0, PERTURBATION, src["vector"].shape).astype(np.float32)
            meta = {**src["meta"], "doc_id": f"pad-{i}", "source": f"synthetic/pad-{i // 50}", "synthetic": True}
            chosen.append({"id": f"pad-{i}", "text": src["text"], "meta": meta, "vector": v / np.linalg.norm(v)})
    store = build_store(settings)
    store.langchain("public")  # the collection, tagged with the embedding model as ingestion does
    started = time.perf_counter()
    store.add_vectors("public", [c["id"] for c in chosen], [c["text"] for c in chosen],
                      [c["vector"].tolist() for c in chosen], [c["meta"] for c in chosen])
    store.bump_revision("public")
    seconds = time.perf_counter() - started
    return {"chunks": store.count("public"), "write_s": round(seconds, 2), "write_chunks_per_s": round(size / seconds, 1)}


def retrieval_latency(settings: Settings, questions: list[str]) -> dict:
    retriever = HybridRetriever(settings, build_store(settings))
    started = time.perf_counter()
    retriever.search(questions[0])  # builds the BM25 index of the collection (once per index revision)
    cold = time.perf_counter() - started
    times = []
    for q in questions:
        t0 = time.perf_counter()
        retriever.search(q)
        times.append((time.perf_counter() - t0) * 1000)
    return {"bm25_build_s": round(cold, 2), "retrieval_p50_ms": percentile(times, 50),
            "retrieval_p95_ms": percentile(times, 95)}


def api_latency(data_dir: Path, embedding_cache: Path, questions: list[str]) -> dict:
    """`python app.py` on the index (no ingest on start), the questions over HTTP one by one, and its RSS."""
    import psutil

    env = {"ASSISTANT_INGEST_ON_START": "false", "ASSISTANT_UI": "false", "ASSISTANT_LLM": "composer",
           "ASSISTANT_RATE_LIMIT_PER_MINUTE": "0", "ASSISTANT_EMBEDDING_CACHE": str(embedding_cache)}
    launched = time.perf_counter()
    with running_app(data_dir, env, log_name="app.log") as app:
        base, proc = app.base, app.proc
        start_s = time.perf_counter() - launched  # model load + the BM25 build (app.py warms it up)
        rss_idle = psutil.Process(proc.pid).memory_info().rss
        t0 = time.perf_counter()
        first = httpx.post(f"{base}/api/ask", json={"question": questions[0]}, timeout=600)
        first_s = time.perf_counter() - t0
        first.raise_for_status()
        times, errors, peak = [], 0, 0
        with httpx.Client(timeout=120) as client:
            for q in questions:
                t0 = time.perf_counter()
                r = client.post(f"{base}/api/ask", json={"question": q})
                times.append((time.perf_counter() - t0) * 1000)
                errors += r.status_code != 200
                peak = max(peak, psutil.Process(proc.pid).memory_info().rss)
        return {"ask_p50_ms": percentile(times, 50), "ask_p95_ms": percentile(times, 95),
                "app_start_s": round(start_s, 1), "ask_first_s": round(first_s, 2), "ask_errors": errors,
                "rss_idle_mb": round(rss_idle / 2**20), "rss_peak_mb": round(peak / 2**20)}


def embedding_throughput(settings: Settings, texts: list[str]) -> dict:
    """Real embedding of texts no cache has seen (each gets a unique suffix), as a cold ingest does."""
    tmp = Path(tempfile.mkdtemp(prefix="scale-embed-"))
    try:
        embeddings = build_embeddings(settings.model_copy(update={"embedding_cache": tmp / "cold.sqlite"}))
        marked = [f"{t} ({i})" for i, t in enumerate(texts)]
        started = time.perf_counter()
        for i in range(0, len(marked), settings.embed_batch_size):
            embeddings.embed_documents(marked[i:i + settings.embed_batch_size])
        seconds = time.perf_counter() - started
        tokens = sum(len(t) for t in marked) // 4
        return {"embedded_chunks": len(marked), "embed_s": round(seconds, 1),
                "embed_chunks_per_s": round(len(marked) / seconds, 2), "embed_tokens_per_s": round(tokens / seconds)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def markdown(report: dict) -> str:
    e = report["embedding"]
    lines = [
        f"# Scale benchmark ({report['date']}, {report['machine']})", "",
        "| chunks | write chunks/s | BM25 build s | retrieval p50 ms | retrieval p95 ms | /api/ask p50 ms "
        "| /api/ask p95 ms | app start s | app RSS MB (idle → peak) | index on disk MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["sizes"]:
        lines.append(f"| {r['chunks']:,} | {r['write_chunks_per_s']:,} | {r['bm25_build_s']} | {r['retrieval_p50_ms']} "
                     f"| {r['retrieval_p95_ms']} | {r['ask_p50_ms']} | {r['ask_p95_ms']} | {r['app_start_s']} "
                     f"| {r['rss_idle_mb']:,} → {r['rss_peak_mb']:,} | {r['disk_mb']:,} |")
    lines += ["", f"Embedding (the bulk of a cold ingest): {e['embed_chunks_per_s']} chunks/s, "
                  f"{e['embed_tokens_per_s']:,} tokens/s ({e['embedded_chunks']} chunks never seen by the cache, "
                  f"batch {report['embed_batch_size']}, {report['embed_threads']} threads).",
              f"Real chunks: {report['real_chunks']['corpus']:,} from corpus/, {report['real_chunks']['padding']:,} "
              f"from {report['padding_source']}; the rest is padding (their vectors + N(0, {PERTURBATION}²) noise). "
              f"{report['queries']} questions per size (dev + test sets), asked one at a time. "
              f"Load average of the machine (other work included): {report['load_average_at_start']} at the start, "
              f"{report['load_average_at_end']} at the end.", ""]
    return "\n".join(lines)


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["chunks"] for r in report["sizes"]]
    fig, (lat, mem) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label, style in (("retrieval_p50_ms", "retrieval p50", "o--"), ("retrieval_p95_ms", "retrieval p95", "o-"),
                              ("ask_p50_ms", "/api/ask p50", "s--"), ("ask_p95_ms", "/api/ask p95", "s-")):
        lat.plot(sizes, [r[key] for r in report["sizes"]], style, label=label)
    lat.set(xscale="log", xlabel="chunks in the index", ylabel="ms", title="Latency")
    lat.grid(True, which="both", alpha=0.3)
    lat.legend()
    mem.plot(sizes, [r["rss_peak_mb"] for r in report["sizes"]], "o-", label="app RSS (peak)")
    mem.plot(sizes, [r["disk_mb"] for r in report["sizes"]], "s--", label="index on disk")
    mem.set(xscale="log", xlabel="chunks in the index", ylabel="MB", title="Memory and disk")
    mem.grid(True, which="both", alpha=0.3)
    mem.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def disk_mb(path: Path) -> int:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES)
    parser.add_argument("--queries", type=int, default=100, help="questions per size")
    parser.add_argument("--embed-sample", type=int, default=256, help="chunks embedded cold for the throughput")
    parser.add_argument("--embedding-cache", type=Path, default=PROJECT_ROOT / ".data" / "embedding_cache.sqlite",
                        help="vector cache for the real chunks (filled on the first run)")
    parser.add_argument("--regulations", type=Path, default=REGULATIONS)
    parser.add_argument("--work", type=Path, help="where the indexes are built (default: a temp dir, removed)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "evals" / "out" / "scale")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="assistant-scale-"))
    base = Settings(data_dir=work / "base", embedding_cache=args.embedding_cache, ui=False)
    embeddings = build_embeddings(base)
    questions = load_questions(args.queries, args.seed)

    print("real chunks: corpus/ …", file=sys.stderr)
    corpus = with_vectors(real_chunks(base, [base.corpus_dir]), embeddings)
    padding: list[dict] = []
    padding_source = "corpus/ (no regulations found)"
    if max(args.sizes) > len(corpus) and args.regulations.is_dir():
        print(f"real chunks: {args.regulations} …", file=sys.stderr)
        padding = with_vectors(real_chunks(base, [args.regulations]), embeddings)
        padding_source = "the official acts (../shared/data/regulations)"

    print("embedding throughput …", file=sys.stderr)
    sample = [c["text"] for c in random.Random(args.seed).sample(corpus, min(args.embed_sample, len(corpus)))]
    report = {"date": time.strftime("%Y-%m-%d"), "machine": f"{os.cpu_count()} CPUs",
              "load_average_at_start": round(os.getloadavg()[0], 2),
              "embed_batch_size": base.embed_batch_size, "embed_threads": base.embed_threads,
              "embedding": embedding_throughput(base, sample), "queries": len(questions),
              "real_chunks": {"corpus": len(corpus), "padding": len(padding)}, "padding_source": padding_source,
              "sizes": []}
    for size in sorted(args.sizes):
        print(f"size {size:,}: building …", file=sys.stderr)
        settings = base.model_copy(update={"data_dir": work / f"index-{size}"})
        row = build_index(size, corpus, padding, settings, args.seed)
        print(f"size {size:,}: retrieval …", file=sys.stderr)
        row.update(retrieval_latency(settings, questions))
        print(f"size {size:,}: /api/ask …", file=sys.stderr)
        row.update(api_latency(settings.data_dir, args.embedding_cache, questions))
        row["disk_mb"] = disk_mb(settings.data_dir / "chroma")
        report["sizes"].append(row)
        print(f"size {size:,}: {row}", file=sys.stderr)
        if not args.work:
            shutil.rmtree(settings.data_dir, ignore_errors=True)

    report["load_average_at_end"] = round(os.getloadavg()[0], 2)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    (args.out / "scale.md").write_text(markdown(report), encoding="utf-8")
    plot(report, args.out / "scale.png")
    print(markdown(report))
    print(f"report: {args.out}/scale.md, scale.png", file=sys.stderr)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r["ask_errors"] == 0 for r in report["sizes"]) else 1


if __name__ == "__main__":
    sys.exit(main())
