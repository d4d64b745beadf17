"""Builds each swappable component from the settings, in one place (PrivateGPT-style)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.embeddings import build_embeddings
from assistant.settings import Settings
from assistant.store import VectorStore

if TYPE_CHECKING:
    from assistant.generators import LLMGenerator


def build_store(settings: Settings) -> VectorStore:
    return VectorStore(settings, build_embeddings(settings))


def build_generator(settings: Settings) -> LLMGenerator | None:
    """None for the composer (no LLM), else the configured backend; the model loads on first use."""
    if settings.llm == "composer":
        return None
    from assistant.generators import LLMGenerator, build_chat_model

    return LLMGenerator(settings, build_chat_model(settings), settings.llm)
