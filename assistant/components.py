"""Builds each swappable component from the settings, in one place (PrivateGPT-style)."""
from __future__ import annotations

from assistant.embeddings import build_embeddings
from assistant.settings import Settings
from assistant.store import VectorStore


def build_store(settings: Settings) -> VectorStore:
    return VectorStore(settings, build_embeddings(settings))
