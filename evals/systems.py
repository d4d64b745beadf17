"""The systems an evaluation compares: ours (hybrid) and the baselines, each a real `Assistant`."""
from __future__ import annotations

import logging
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from assistant.ingestion import IngestReport
from assistant.service import Assistant
from assistant.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

EVAL_DATA_DIR = PROJECT_ROOT / ".data" / "eval"

# name → what it is (README and report use these words)
SYSTEMS = {
    "ours": "hybrid: multilingual-e5-small + BM25 (Kazakh-aware), RRF, calibrated routing",
    "lexical": "lexical only: BM25 leg of ours, its own fitted router",
    "dense": "dense only: multilingual-e5-small leg of ours, its own fitted router",
    "naive": "naive Chroma setup: English all-MiniLM-L6-v2, dense only, top hit always answered",
}
BASELINES = ("lexical", "dense", "naive")
# Each baseline and ablation gets its own ranker, confidence and thresholds (assistant/routing_model.json),
# fitted on dev by `python -m evals fit --write` exactly as ours is: the comparison is of evidence, not of tuning.


def default_sources(settings: Settings) -> list[Path]:
    """What the evaluation indexes: exactly what the app indexes (corpus/, the acts, the portal pages)."""
    return settings.sources()


def eval_settings(data_dir: Path | None = None, **overrides) -> Settings:
    """Settings from the environment, with the evaluation's own index folder (never the app's)."""
    values = {"data_dir": data_dir or EVAL_DATA_DIR, "ui": False}
    values.update(overrides)
    return Settings(**values)


def cache_path(settings: Settings) -> Path:
    return settings.embedding_cache or settings.data_dir / "embedding_cache.sqlite"


def indexed_assistant(settings: Settings, sources: list[Path], ingest: bool = True, progress: bool = True,
                      router=None, store=None) -> Assistant:
    """An assistant over `sources`, brought up to date incrementally (cached vectors cost nothing)."""
    assistant = Assistant(settings, store=store, router=router)
    if ingest:
        report: IngestReport = assistant.ingest(sources, progress=progress)
        log.info("eval index %s: %s", settings.data_dir, report.summary())
        for path, reason in report.errors:
            log.warning("not indexed: %s: %s", path, reason)
    return assistant


def variant(settings: Settings, name: str) -> Settings:
    if name in ("ours", "hybrid"):
        return settings
    if name in ("lexical", "dense"):
        return settings.model_copy(update={"retrieval_mode": name, "routing_legs": [name]})
    raise ValueError(f"unknown system {name!r}")


def legs_variant(settings: Settings, legs: list[str]) -> Settings:
    """Ours with only these routing legs (the ablation); retrieval drops a leg the router does not use."""
    mode = "hybrid" if {"dense", "lexical"} <= set(legs) else ("dense" if "dense" in legs else "lexical")
    return settings.model_copy(update={"retrieval_mode": mode, "routing_legs": list(legs)})


@contextmanager
def naive_assistant(settings: Settings, sources: list[Path], progress: bool = True) -> Iterator[Assistant]:
    """What a new Chroma user gets: the English MiniLM, dense only, the top hit always answered.

    Built in its own throw-away index; its vectors go to the shared cache (keyed by model).
    """
    tmp = Path(tempfile.mkdtemp(prefix="naive-chroma-"))
    try:
        naive = settings.model_copy(update={
            "data_dir": tmp, "embedding_cache": cache_path(settings), "embedder": "sentence-transformers",
            "embedder_model_path": None, "retrieval_mode": "dense", "routing_legs": ["dense"], "answer_threshold": 0.0,
            "clarify_threshold": 1.01,
        })
        yield indexed_assistant(naive, sources, ingest=True, progress=progress)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def systems(settings: Settings, sources: list[Path], baselines: bool, ingest: bool = True, progress: bool = True
            ) -> Iterator[tuple[str, Assistant]]:
    """(name, assistant) for ours and, when asked, each baseline; the naive one is built last."""
    ours = indexed_assistant(settings, sources, ingest=ingest, progress=progress)
    yield "ours", ours
    if not baselines:
        return
    for name in ("lexical", "dense"):
        yield name, Assistant(variant(settings, name), store=ours.store)
    with naive_assistant(settings, sources, progress=progress) as naive:
        yield "naive", naive
