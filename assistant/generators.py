"""LLM generators behind the composer's interface: a local GGUF (llama-cpp-python) or any OpenAI-compatible server.

The composer's draft is always made first: it is the answer when the model is slow, down, wrong
or not trusted for the language, and the fallback reason says which.
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from assistant.answer import Source
from assistant.composer import Draft
from assistant.llm_model import model_path
from assistant.prompting import DECLINE, answer_messages, is_decline, rephrase_messages
from assistant.retrieval import Hit
from assistant.routing import RoutedService
from assistant.settings import Settings
from assistant.verification import MARKER, answer_language_ok, recite, verify_answer

log = logging.getLogger(__name__)
TokenSink = Callable[[str], None]
_LINK_LINE = re.compile(r"^(?P<label>[^\n:]{1,60}): (?P<url>https?://\S+) \[(?P<n>\d+)\]\s*$", re.M)


# --- the local model as a langchain chat model --------------------------------------------------

_LOADED: dict[tuple, tuple[Any, threading.Lock]] = {}
_LOADING = threading.Lock()


def _load_llama(path: str, n_ctx: int, n_threads: int):
    """One llama.cpp model per file and process (loading costs seconds and 1.8 GB); calls are serialised."""
    key = (path, n_ctx, n_threads)
    with _LOADING:
        if key not in _LOADED:
            from llama_cpp import Llama  # the `local-llm` extra

            if not Path(path).is_file():
                raise FileNotFoundError(f"no GGUF model at {path}: run `python -m assistant.llm_model assemble`")
            llama = Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, n_batch=256, verbose=False)
            if not _LOADED:
                atexit.register(_close_models)
            _LOADED[key] = (llama, threading.Lock())
        return _LOADED[key]


def _close_models() -> None:
    """Frees the models while llama.cpp is still loaded (its finaliser fails at interpreter shutdown)."""
    for llama, _ in _LOADED.values():
        with contextlib.suppress(Exception):
            llama.close()
    _LOADED.clear()


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(message.type, "user")


class ChatLlamaCppLocal(BaseChatModel):
    """A GGUF model in-process through llama-cpp-python, as a langchain chat model.

    Our own thin integration: langchain-community (home of ChatLlamaCpp) has been sunset.
    """

    model_path: str
    n_ctx: int = 4096
    n_threads: int = 2
    max_tokens: int = 320
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "llamacpp-local"

    def _params(self, stop: list[str] | None, kwargs: dict) -> dict:
        return {"max_tokens": kwargs.get("max_tokens", self.max_tokens),
                "temperature": kwargs.get("temperature", self.temperature), "stop": stop or []}

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        llama, lock = _load_llama(self.model_path, self.n_ctx, self.n_threads)
        cancel: threading.Event | None = kwargs.get("cancel")
        with lock:
            if cancel is not None and cancel.is_set():
                return
            stream = llama.create_chat_completion(
                messages=[{"role": _role(m), "content": m.content} for m in messages], stream=True,
                **self._params(stop, kwargs))
            for part in stream:
                if cancel is not None and cancel.is_set():
                    break  # leaving the loop stops llama.cpp generating
                delta = part["choices"][0]["delta"].get("content") or ""
                if delta:
                    if run_manager:
                        run_manager.on_llm_new_token(delta)
                    yield ChatGenerationChunk(message=AIMessageChunk(content=delta))


def build_chat_model(settings: Settings) -> BaseChatModel:
    if settings.llm == "llamacpp":
        return ChatLlamaCppLocal(model_path=str(model_path(settings)), n_ctx=settings.llm_context_tokens,
                                 n_threads=settings.llm_threads, max_tokens=settings.llm_max_tokens,
                                 temperature=settings.llm_temperature)
    if settings.llm == "openai":
        from langchain_openai import ChatOpenAI

        if not settings.llm_base_url:
            raise ValueError("ASSISTANT_LLM=openai needs ASSISTANT_LLM_BASE_URL (e.g. http://127.0.0.1:8000/v1)")
        # The client sends max_completion_tokens; max_tokens goes in the body too, which every server reads.
        return ChatOpenAI(base_url=settings.llm_base_url, model=settings.llm_model,
                          api_key=settings.llm_api_key or "not-needed", timeout=settings.llm_timeout_s,
                          max_retries=0, temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens,
                          extra_body={"max_tokens": settings.llm_max_tokens})
    raise ValueError(f"no chat model for generator {settings.llm!r}")


# --- running a model under a deadline --------------------------------------------------------------

class LLMFailure(Exception):
    """The model gave no usable text; `reason` is the fallback recorded on the answer."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def failure_reason(exc: BaseException) -> str:
    """llm_timeout for a slow server, llm_unreachable when nothing listens, llm_error for the rest."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"APITimeoutError", "TimeoutException", "ReadTimeout", "ConnectTimeout", "TimeoutError"}:
        return "llm_timeout"
    if names & {"APIConnectionError", "ConnectError", "ConnectionError", "ConnectionRefusedError"}:
        return "llm_unreachable"
    return "llm_error"


@dataclass
class Generation:
    text: str
    first_token_ms: float | None = None
    total_ms: float = 0.0
    chunks: int = 0


def _token_limit(chat: BaseChatModel, max_tokens: int) -> dict:
    if isinstance(chat, ChatLlamaCppLocal):
        return {"max_tokens": max_tokens}
    return {"max_tokens": max_tokens, "extra_body": {"max_tokens": max_tokens}}


def run_with_deadline(chat: BaseChatModel, messages: list[tuple[str, str]], deadline_s: float,
                      on_token: TokenSink | None = None, max_tokens: int = 320) -> Generation:
    """Streams the model in a worker thread; past the deadline the caller gets LLMFailure('llm_timeout').

    The worker is told to stop (the local model stops at the next token; an HTTP call ends at
    the client's own timeout), so an unreachable or slow server never holds a request.
    """
    tokens: queue.Queue = queue.Queue()
    cancel = threading.Event()
    local = isinstance(chat, ChatLlamaCppLocal)

    options = {**({"cancel": cancel} if local else {}), **_token_limit(chat, max_tokens)}

    def work():
        try:
            for chunk in chat.stream(messages, **options):
                if cancel.is_set():
                    break
                tokens.put(("token", chunk.content if isinstance(chunk.content, str) else ""))
            tokens.put(("done", None))
        except BaseException as exc:  # reported to the waiting request, never raised in the thread
            tokens.put(("error", exc))

    started = time.monotonic()
    end = started + deadline_s
    threading.Thread(target=work, name="llm-generation", daemon=True).start()
    result = Generation("")
    parts: list[str] = []
    while True:
        try:
            kind, value = tokens.get(timeout=max(0.0, end - time.monotonic()))
        except queue.Empty:
            cancel.set()
            raise LLMFailure("llm_timeout", f"no complete answer within {deadline_s:g} s") from None
        if kind == "done":
            break
        if kind == "error":
            raise LLMFailure(failure_reason(value), f"{type(value).__name__}: {str(value)[:300]}") from value
        if value:
            if result.first_token_ms is None:
                result.first_token_ms = round((time.monotonic() - started) * 1000, 1)
            parts.append(value)
            result.chunks += 1
            if on_token is not None:
                on_token(value)
    result.text = "".join(parts)
    result.total_ms = round((time.monotonic() - started) * 1000, 1)
    return result


# --- the generator ---------------------------------------------------------------------------------

def _source_key(s: Source) -> tuple[str, str, str]:
    return s.doc_id, s.section, s.text[:80]


def select_sources(composed: Draft, hits: list[Hit], lang: str, max_sources: int) -> list[Source]:
    """The composer's sections for this question first, then the best retrieved chunks in its language."""
    picked: list[Source] = []
    seen: set[tuple] = set()

    def add(source: Source) -> None:
        if len(picked) < max_sources and _source_key(source) not in seen:
            seen.add(_source_key(source))
            picked.append(replace(source, n=len(picked) + 1))

    for source in composed.sources[: max(1, max_sources - 1)]:
        add(source)
    # Chunks in the question's language first; catalogue entries (a title and keywords) say least.
    ranked = sorted(hits, key=lambda h: (h.meta.get("lang") != lang, h.meta.get("kind") == "catalogue"))
    for hit in ranked:
        add(Source.from_record(0, hit.record))
    return picked


def renumber(text: str, sources: list[Source]) -> tuple[str, list[Source]]:
    """Keeps the sources the answer cites, numbered 1..m in order of first citation."""
    by_n = {s.n: s for s in sources}
    order: dict[int, int] = {}
    for group in MARKER.findall(text):
        for n in re.split(r"\s*,\s*", group):
            if int(n) in by_n:
                order.setdefault(int(n), len(order) + 1)

    def sub(m: re.Match) -> str:
        numbers = [order[int(n)] for n in re.split(r"\s*,\s*", m.group(1)) if int(n) in order]
        return "".join(f"[{n}]" for n in dict.fromkeys(numbers))

    return MARKER.sub(sub, text), [replace(by_n[old], n=new) for old, new in order.items()]


def tidy(text: str) -> str:
    text = re.sub(r"^\s*(answer|ответ|жауап)\s*:\s*", "", text.strip(), flags=re.I)
    text = re.sub(r"(\S)\[(\d)", r"\1 [\2", text)  # "слово[1]" → "слово [1]"
    return text.strip()


@dataclass
class LLMGenerator:
    """Answers from the retrieved sources with a chat model; the composer's draft is its fallback."""

    settings: Settings
    chat: BaseChatModel
    name: str

    def answers_language(self, lang: str) -> bool:
        if self.settings.llm_kazakh is not None or lang != "kk":
            return lang != "kk" or bool(self.settings.llm_kazakh)
        return self.name != "llamacpp"  # the small local model's Kazakh is unusable (MODELS.md)

    def answer(self, question: str, lang: str, hits: list[Hit], services: list[RoutedService], composed: Draft,
               on_token: TokenSink | None = None) -> Draft:
        if not self.answers_language(lang):
            return self._fallback(composed, "kazakh_composer")
        sources = select_sources(composed, hits, lang, self.settings.llm_max_sources)
        messages = answer_messages(question, lang, sources, self.settings.llm_source_chars)
        try:
            generation = run_with_deadline(self.chat, messages, self.settings.llm_timeout_s, on_token,
                                           max_tokens=self.settings.llm_max_tokens)
        except LLMFailure as exc:
            return self._fallback(composed, exc.reason, str(exc))
        metrics = {"first_token_ms": generation.first_token_ms, "total_ms": generation.total_ms,
                   "chunks": generation.chunks}
        text = tidy(generation.text)
        if is_decline(text, lang):
            log.info("%s declined: the sources do not answer %r", self.name, question[:120])
            return Draft(DECLINE[lang], refused=True, services=services, generator=self.name, metrics=metrics)
        text = recite(text, sources, lang, question)
        verdict = verify_answer(text, sources, lang, question)
        if not verdict.ok:
            fallback = self._fallback(composed, verdict.reason, "; ".join(verdict.problems), text)
            return replace(fallback, metrics=metrics)
        text, cited = renumber(text, sources)
        text, cited = self._with_service_link(text, cited, composed)
        return Draft(text, cited, services=composed.services or services, generator=self.name, metrics=metrics)

    def rephrase(self, question: str, lang: str, history: list[tuple[str, str]]) -> str | None:
        """A follow-up rewritten as a standalone question, or None (the caller carries the topic over)."""
        if not self.settings.llm_rephrase or not self.answers_language(lang):
            return None
        try:
            generation = run_with_deadline(self.chat, rephrase_messages(question, lang, history),
                                           self.settings.llm_timeout_s, max_tokens=60)
        except LLMFailure as exc:
            log.warning("follow-up rewrite failed (%s); carrying the previous topic over instead", exc)
            return None
        lines = [ln for ln in generation.text.strip().splitlines() if ln.strip()]
        first = lines[0] if lines else ""
        rewritten = re.sub(r"^(standalone question|вопрос)\s*:\s*", "", first, flags=re.I).strip(" \"«»")
        if not (3 <= len(rewritten) <= 300) or not answer_language_ok(rewritten, lang) or is_decline(rewritten, lang):
            log.warning("follow-up rewrite unusable (%r); carrying the previous topic over instead", rewritten[:120])
            return None
        return rewritten

    def _fallback(self, composed: Draft, reason: str, detail: str = "", text: str = "") -> Draft:
        log_at = log.info if reason == "kazakh_composer" else log.warning
        log_at("%s answer replaced by the composer's: fallback=%s %s%s", self.name, reason, detail,
               f" | model said: {text[:300]!r}" if text else "")
        return replace(composed, generator=self.name, fallback=reason)

    @staticmethod
    def _with_service_link(text: str, cited: list[Source], composed: Draft) -> tuple[str, list[Source]]:
        """The composer's closing link to the e-service, cited to the same card (no URL comes from the model)."""
        links = list(_LINK_LINE.finditer(composed.text))
        link = links[-1] if links else None
        if link is None:
            return text, cited
        source = next((s for s in composed.sources if s.n == int(link.group("n"))), None)
        if source is None or link.group("url") in text:
            return text, cited
        n = next((s.n for s in cited if _source_key(s) == _source_key(source)), None)
        if n is None:
            cited = cited + [replace(source, n=len(cited) + 1)]
            n = len(cited)
        return f"{text}\n\n{link.group('label')}: {link.group('url')} [{n}]", cited
