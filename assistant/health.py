"""`/api/health`: each dependency checked on its own, so an operator sees which one is down.

Store, embedder and catalogue are required: without one of them no answer can be given (503,
the balancer takes the replica out). The LLM is optional: when it is down answers fall back to
the composer, so the replica stays in rotation (200, status "degraded").
"""
from __future__ import annotations

import httpx

from assistant.ingestion import source_key
from assistant.settings import Settings

REQUIRED = ("store", "embedder", "catalogue")


def check_store(assistant) -> dict:
    settings = assistant.settings
    backend = {"backend": "chroma-server" if settings.chroma_url else "chroma-embedded"}
    if settings.chroma_url:
        backend["url"] = settings.chroma_url
    try:
        assistant.store.ping()
        return {"ok": True, **backend, "public_chunks": assistant.store.count("public")}
    except Exception as exc:  # a health probe reports, never raises
        return {"ok": False, **backend, "error": str(exc)[:200]}


def check_sources(assistant) -> dict:
    """What the public index holds, per source (corpus/, the acts, the portal pages), and how old its texts are."""
    roots = [source_key(p) for p in assistant.settings.sources()]
    try:
        sources = assistant.retriever.source_summary(roots)
    except Exception as exc:  # reported by the store check too
        return {"ok": False, "error": str(exc)[:200]}
    missing = [r for r in roots if r not in {s["source"] for s in sources}]
    dates = [s["oldest_date"] for s in sources if s["oldest_date"]]
    return {"ok": bool(sources), "sources": sources, "not_indexed": missing, "oldest_source_date": min(dates, default=None)}


def check_embedder(assistant) -> dict:
    embeddings = assistant.store.embeddings
    try:
        embeddings.embed_query("health")
        return {"ok": True, "model": embeddings.model_id}
    except Exception as exc:
        return {"ok": False, "model": getattr(embeddings, "model_id", "?"), "error": str(exc)[:200]}


def check_llm(settings: Settings) -> dict:
    """The configured generator; the composer needs no server ("not configured")."""
    kind = str(getattr(settings, "llm", None) or "composer")
    if kind == "composer":
        return {"ok": True, "status": "not configured", "generator": "composer"}
    if kind == "openai":
        base_url = str(getattr(settings, "llm_base_url", "") or "").rstrip("/")
        if not base_url:
            return {"ok": False, "status": "misconfigured", "generator": kind, "error": "ASSISTANT_LLM_BASE_URL unset"}
        key = getattr(settings, "llm_api_key", None)
        key = key.get_secret_value() if hasattr(key, "get_secret_value") else key
        timeout = min(2.0, float(getattr(settings, "llm_timeout_s", 2.0) or 2.0))
        try:
            r = httpx.get(f"{base_url}/models", timeout=timeout,
                          headers={"Authorization": f"Bearer {key}"} if key else None)
            # Any answer means the server is there (not every one lists models); a gateway error means
            # a proxy whose backend is gone.
            if r.status_code not in (502, 503, 504):
                return {"ok": True, "status": "up", "generator": kind, "base_url": base_url,
                        "model": getattr(settings, "llm_model", None)}
            error = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:200]
        return {"ok": False, "status": "down", "generator": kind, "base_url": base_url, "error": error,
                "fallback": "composer"}
    if kind == "llamacpp":
        from assistant.llm_model import model_path

        gguf = model_path(settings)
        present = gguf.is_file()
        return {"ok": present, "status": "local model" if present else "model file missing", "generator": kind,
                "model": str(gguf), **({} if present else {"fallback": "composer"})}
    return {"ok": True, "status": "configured", "generator": kind}


def health_report(assistant) -> tuple[int, dict]:
    """(HTTP status, body): 503 only when a required dependency fails."""
    checks = {
        "store": check_store(assistant),
        "embedder": check_embedder(assistant),
        "catalogue": {"ok": len(assistant.catalogue) > 0, "services": len(assistant.catalogue)},
        "sources": check_sources(assistant),
        "llm": check_llm(assistant.settings),
    }
    if not all(checks[name]["ok"] for name in REQUIRED):
        return 503, {"status": "unavailable", **checks}
    return 200, {"status": "ok" if all(c["ok"] for c in checks.values()) else "degraded", **checks}
