"""Service-level routing evidence straight from the names of the services.

Chunk retrieval ranks passages; a citizen who types (part of) a service's official name or a word
the portal lists for it should get that service whatever the passages say. Two legs do that:

- names: the share of a title's or keyword's stems (IDF-weighted) that the question contains, and
  whether the whole name occurs in it; Kazakh stems come from the lexical leg's normaliser.
- chars: character n-grams (TF-IDF over word-bounded 2–5-grams, as scikit-learn's
  `TfidfVectorizer(analyzer="char_wb", sublinear_tf=True)` computes them) over every name of a service
  in all languages. Kazakh agglutinates: "тіркеуге", "тіркелу", "тіркеуді" share n-grams
  where whole-word stems miss, and typos or missing Kazakh letters cost a few n-grams, not the word.

Names come from the catalogue (ru/kk/en titles and keywords) and, when present, the portal's own
Kazakh pages (`title_kk`, `description_kk`, `keywords_kk`).
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.corpus import Catalogue, jsonl_objects
from assistant.lexical import STOPWORDS, document_tokens, fold, query_tokens, transliterate


_LATIN_WORD = re.compile(r"[a-zäğqñöūüışç]{4,}", re.I)
_SPACES = re.compile(r"[^0-9a-zа-яё]+")


def plain_text(text: str) -> str:
    """Lower case, Kazakh letters folded (citizens drop them), punctuation as spaces, padded."""
    return " " + _SPACES.sub(" ", fold(text.lower())).strip() + " "


def char_text(text: str) -> str:
    """What the n-gram leg sees: the plain text and, beside it, Latin-typed Russian/Kazakh words transliterated."""
    translit = " ".join(transliterate(w) for w in _LATIN_WORD.findall(text.lower()))
    return plain_text(f"{text} {translit}")


@dataclass
class Name:
    code: str
    lang: str
    kind: str  # "title" | "keyword" | "portal"
    text: str
    stems: frozenset[str]
    phrase: str  # plain_text form, for whole-name containment


@dataclass
class NameEvidence:
    """What the names say about one service for one question."""

    coverage: float = 0.0  # best IDF-weighted share of a name's stems found in the question
    exact: bool = False  # a whole title/keyword occurs in the question, or all stems of a name of ≥ 2 words
    exact_share: float = 0.0  # how much of the question the longest whole name (or all-stems title) covers
    title_coverage: float = 0.0  # the same, over official titles only
    chars: float = 0.0  # n-gram cosine of the question and the service's names
    chars_rank: int | None = None


@dataclass
class ServiceIndex:
    """Names of every catalogue service, searchable by stems and by character n-grams."""

    names: list[Name]
    codes: list[str]
    idf: dict[str, float] = field(default_factory=dict)
    _by_stem: dict[str, list[int]] = field(default_factory=dict)
    _ngrams: "CharNgrams | None" = None
    _position: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, catalogue: Catalogue, portal_pages: Path | None = None) -> "ServiceIndex":
        names: list[Name] = []

        def add(code: str, lang: str, kind: str, text: str) -> None:
            text = (text or "").strip()
            stems = frozenset(t for t in document_tokens(text, lang) if t not in STOPWORDS and len(t) > 1)
            if stems:
                names.append(Name(code, lang, kind, text, stems, plain_text(text)))

        for code, entry in catalogue.by_code.items():
            for lang, title in entry.title.items():
                add(code, lang, "title", title)
            for lang, words in entry.keywords.items():
                for word in words:
                    add(code, lang, "keyword", word)
        for page in load_portal_pages(portal_pages):
            if page["code"] in catalogue:
                for text in [page.get("title_kk", ""), page.get("description_kk", "")]:
                    add(page["code"], "kk", "portal", text)
                for word in page.get("keywords_kk") or []:
                    add(page["code"], "kk", "keyword", word)
        index = cls(names, sorted(catalogue.by_code))
        index._prepare()
        return index

    def _prepare(self) -> None:
        # IDF over services (not names): a stem every service shares ("справка", "анықтама") proves little.
        services_with = defaultdict(set)
        for i, name in enumerate(self.names):
            for stem in name.stems:
                services_with[stem].add(name.code)
                self._by_stem.setdefault(stem, []).append(i)
        self._position = {code: i for i, code in enumerate(self.codes)}
        n = len(self.codes) or 1
        self.idf = {stem: math.log(1 + n / len(codes)) for stem, codes in services_with.items()}
        texts = defaultdict(list)
        for name in self.names:
            texts[name.code].append(char_text(name.text))
        docs = [" | ".join(texts.get(code, [])) for code in self.codes]
        self._ngrams = CharNgrams(docs)

    def evidence(self, question: str, top_chars: int = 8) -> dict[str, NameEvidence]:
        """Per service: name coverage and exact names (every service that shares a stem) and the n-gram
        leg's best `top_chars` services."""
        found: dict[str, NameEvidence] = {}
        q_stems = set(query_tokens(question))
        q_phrase = plain_text(question)
        q_len = len(q_phrase)  # how much of what the citizen typed a name covers
        candidates = {i for stem in q_stems for i in self._by_stem.get(stem, ())}
        for i in candidates:
            name = self.names[i]
            weights = [self.idf.get(s, 0.0) for s in name.stems]
            total = sum(weights) or 1.0
            got = sum(w for s, w in zip(name.stems, weights) if s in q_stems) / total
            ev = found.setdefault(name.code, NameEvidence())
            ev.coverage = max(ev.coverage, got)
            if name.kind in ("title", "portal"):
                ev.title_coverage = max(ev.title_coverage, got)
            whole = name.phrase in q_phrase and (len(name.stems) >= 2 or len(name.phrase) >= 9)
            # near-exact: every stem of a name of two or more words, in any inflection ("справку о несудимости")
            if whole or (got >= 0.999 and len(name.stems) >= 2):
                ev.exact = True
            # a whole name, or every stem of an official title of two or more words, covering part of the question
            if whole or (got >= 0.999 and len(name.stems) >= 2 and name.kind in ("title", "portal")):
                ev.exact_share = max(ev.exact_share, min(len(name.phrase) / q_len, 1.0))
        if self._ngrams is not None:
            scores = self._ngrams.scores(char_text(question))
            for rank, j in enumerate(np.argsort(-scores)[:top_chars]):
                if scores[j] <= 0:
                    break
                ev = found.setdefault(self.codes[j], NameEvidence())
                ev.chars, ev.chars_rank = float(scores[j]), rank
            # n-gram score of the services found by names only, so every candidate has the feature
            for code, ev in found.items():
                if ev.chars_rank is None:
                    ev.chars = float(scores[self._position[code]])
        return found


class CharNgrams:
    """TF-IDF cosine over word-bounded character 2–5-grams (sublinear tf, smoothed idf, L2 norm).

    Our own rather than scikit-learn's TfidfVectorizer, which computes the same: scikit-learn's wheels
    bring their own OpenMP runtime, and loaded beside llama.cpp's (ASSISTANT_LLM=llamacpp) in one process
    the two crash it (a segmentation fault in `llama_decode`, seen in tests/test_llm_local.py).
    """

    def __init__(self, docs: list[str], sizes: range = range(2, 6)):
        self.sizes = sizes
        counts = [self._grams(d) for d in docs]
        df: Counter = Counter(g for c in counts for g in c)
        n = len(docs)
        self.idf = {g: math.log((1 + n) / (1 + k)) + 1 for g, k in df.items()}
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.n = n
        for i, c in enumerate(counts):
            for g, w in self._weights(c).items():
                self.postings[g].append((i, w))

    def _grams(self, text: str) -> Counter:
        grams: Counter = Counter()
        for word in text.split():
            padded = f" {word} "
            for size in self.sizes:
                if len(padded) < size:
                    break
                grams.update(padded[i:i + size] for i in range(len(padded) - size + 1))
        return grams

    def _weights(self, counts: Counter) -> dict[str, float]:
        w = {g: (1 + math.log(c)) * self.idf[g] for g, c in counts.items() if g in self.idf}
        norm = math.sqrt(sum(v * v for v in w.values())) or 1.0
        return {g: v / norm for g, v in w.items()}

    def scores(self, text: str) -> np.ndarray:
        out = np.zeros(self.n)
        for g, qw in self._weights(self._grams(text)).items():
            for i, dw in self.postings.get(g, ()):
                out[i] += qw * dw
        return out


def load_portal_pages(path: Path | None) -> list[dict]:
    """The portal's Kazakh pages (`../shared/data/egov/egov_portal_pages_kk.jsonl`); none when absent."""
    return [page for page in jsonl_objects(path) if page.get("code")]
