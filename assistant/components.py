"""Builds each swappable component from the settings, in one place (PrivateGPT-style)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.corpus import Catalogue
from assistant.embeddings import build_embeddings
from assistant.example_index import ExampleIndex
from assistant.routing import Router, RoutingModelMissing, legs_key, load_fits
from assistant.service_index import ServiceIndex
from assistant.settings import Settings
from assistant.store import VectorStore

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from assistant.generators import LLMGenerator


def build_store(settings: Settings) -> VectorStore:
    return VectorStore(settings, build_embeddings(settings))


def build_generator(settings: Settings) -> LLMGenerator | None:
    """None for the composer (no LLM), else the configured backend; the model loads on first use."""
    if settings.llm == "composer":
        return None
    from assistant.generators import LLMGenerator, build_chat_model

    return LLMGenerator(settings, build_chat_model(settings), settings.llm)


def build_router(settings: Settings, catalogue: Catalogue, embeddings: Embeddings) -> Router:
    """The router for the configured legs, with its fitted weights and thresholds."""
    legs = settings.active_legs()
    fits = load_fits(settings.routing_model)
    key = legs_key(legs)
    if key not in fits:
        raise RoutingModelMissing(f"{settings.routing_model} has no fit for the legs {key!r}; "
                                  f"fitted: {sorted(fits)}. Run `python -m evals fit --write`.")
    index = ServiceIndex.build(catalogue, settings.portal_pages) if {"names", "chars"} & set(legs) else None
    examples = (ExampleIndex.build(catalogue, embeddings, settings.portal_pages, settings.routing_examples)
                if "examples" in legs else None)
    return Router(catalogue, index, fits[key], legs, settings.route_top_n, settings.answer_threshold,
                  settings.clarify_threshold, examples)
