"""Routes a question to egov.kz e-services: rank the candidate services, then answer, ask, or decline.

Five legs give evidence per service: the retrieved chunks' dense and lexical ranks (what the hybrid
retriever found), the services' names (exact and near-exact titles and keywords), character
n-grams over those names (assistant/service_index.py) and the nearest labelled examples in the
embedder's space (assistant/example_index.py). A linear ranker fitted on the dev split
(`python -m evals fit --write` → assistant/routing_model.json) scores every candidate; a second
logistic map turns the best score into P(the top service is right). Then:

- answer: P ≥ the fitted answer threshold of the question's language (chosen on dev so that what is
  answered is right ≥ 98% in each language: the legs are not equally sure in kk, ru and en);
- clarify: not certain, but two or three services are each plausible: ask which one;
- decline: otherwise (hints only when a candidate is as plausible as a clarification's choice).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from assistant.corpus import Catalogue
from assistant.example_index import ExampleIndex
from assistant.retrieval import Hit
from assistant.service_index import NameEvidence, ServiceIndex

ROUTING_MODEL = Path(__file__).with_name("routing_model.json")
LEGS = ("dense", "lexical", "names", "chars", "examples")
# How much one chunk of a kind says about its services: a card or catalogue entry names exactly
# one service; an act or a life situation spans several, so each of its codes gets less.
KIND_WEIGHT = {"catalogue": 1.2, "service": 1.0, "faq": 0.8, "regulation": 0.5, "situation": 0.5, "procedure": 0.5}
# Routing re-fuses the legs' ranks with a smaller constant than retrieval's RRF: what both legs put first
# should decide, not how many chunks a service has.
ROUTE_RRF_K = 10
DENSE_CENTER = 0.84  # e5 cosines of related passages sit around here; the feature is the distance from it
FEATURES = ("mass", "share", "first", "dense", "dense_found", "bm25", "agree",
            "coverage", "title_coverage", "exact", "exact_share", "chars", "chars_rrf", "knn", "knn_rank", "knn_votes")
LEG_FEATURES = {
    "dense": ("dense", "dense_found"),
    "lexical": ("bm25", "agree"),
    "names": ("coverage", "title_coverage", "exact", "exact_share"),
    "chars": ("chars", "chars_rrf"),
    "examples": ("knn", "knn_rank", "knn_votes"),
}
CANDIDATES_PER_LEG = 8


@dataclass
class RoutedService:
    code: str
    title: str
    url: str
    score: float  # calibrated confidence in [0, 1]


@dataclass
class Evidence:
    """What the retrieved chunks say about one service."""

    code: str
    mass: float = 0.0  # kind-weighted rank evidence of the best chunk naming the service
    dense: float | None = None  # best cosine of those chunks (None: only the lexical leg found the service)
    lexical: float = 0.0  # best BM25 score of those chunks
    agree: bool = False  # one chunk is in the top 3 of both legs
    share: float = 0.0  # mass / all services' mass


def service_evidence(hits: list[Hit], catalogue: Catalogue) -> list[Evidence]:
    """Services named by the retrieved chunks, best first by routing mass."""
    found: dict[str, Evidence] = {}
    for hit in hits:
        codes = [c for c in hit.record.service_codes if c in catalogue]
        if not codes:
            continue
        weight = KIND_WEIGHT.get(hit.meta.get("kind", ""), 0.5) / math.sqrt(len(codes))
        strength = sum(1.0 / (ROUTE_RRF_K + rank + 1) for rank in (hit.dense_rank, hit.lexical_rank) if rank is not None)
        for code in codes:
            ev = found.setdefault(code, Evidence(code))
            ev.mass = max(ev.mass, strength * weight)
            if hit.dense is not None:
                ev.dense = max(ev.dense or 0.0, hit.dense)
            ev.lexical = max(ev.lexical, hit.lexical or 0.0)
            if (hit.dense_rank is not None and hit.dense_rank < 3) and (hit.lexical_rank is not None and hit.lexical_rank < 3):
                ev.agree = True
    total = sum(ev.mass for ev in found.values()) or 1.0
    for ev in found.values():
        ev.share = ev.mass / total
    return sorted(found.values(), key=lambda ev: ev.mass, reverse=True)


def candidate_features(hits: list[Hit], question: str, catalogue: Catalogue, index: ServiceIndex | None,
                       legs: tuple[str, ...], examples: ExampleIndex | None = None,
                       exclude: str | None = None) -> dict[str, dict[str, float]]:
    """Every candidate service (the best few of each leg) with the features the ranker reads; `exclude` leaves a
    labelled question's own example out (the fit), so the leg is measured as on a question it has not seen."""
    chunk = service_evidence(hits, catalogue)
    names: dict[str, NameEvidence] = index.evidence(question, CANDIDATES_PER_LEG) if index is not None else {}
    codes = [ev.code for ev in chunk[:CANDIDATES_PER_LEG]]
    if "names" in legs:
        by_name = sorted((c for c, ev in names.items() if ev.coverage > 0),
                         key=lambda c: (names[c].exact_share, names[c].coverage), reverse=True)
        codes += by_name[:CANDIDATES_PER_LEG]
    if "chars" in legs:
        codes += [c for c, ev in names.items() if ev.chars_rank is not None]
    near = examples.evidence(question, CANDIDATES_PER_LEG, exclude) if examples is not None and "examples" in legs else {}
    codes += list(near)
    by_code = {ev.code: ev for ev in chunk}
    out: dict[str, dict[str, float]] = {}
    for code in dict.fromkeys(codes):
        ev = by_code.get(code, Evidence(code))
        nm = names.get(code, NameEvidence())
        f = {
            "mass": ev.mass * 10, "share": ev.share, "first": float(bool(chunk) and chunk[0].code == code),
            "dense": (ev.dense - DENSE_CENTER) * 10 if ev.dense is not None else 0.0,
            "dense_found": float(ev.dense is not None), "bm25": min(ev.lexical, 12.0) / 12, "agree": float(ev.agree),
            "coverage": nm.coverage, "title_coverage": nm.title_coverage, "exact": float(nm.exact),
            "exact_share": nm.exact_share,
            "chars": nm.chars, "chars_rrf": 1.0 / (1 + nm.chars_rank) if nm.chars_rank is not None else 0.0,
            "knn": 0.0, "knn_rank": 0.0, "knn_votes": 0.0,
        }
        if near:
            ex = near.get(code)
            cosine = ex.cosine if ex is not None else examples.cosine(question, code, exclude)
            f.update({"knn": (cosine - DENSE_CENTER) * 10, "knn_rank": 1.0 / (1 + ex.rank) if ex is not None else 0.0,
                      "knn_votes": ex.votes if ex is not None else 0.0})
        for leg, keys in LEG_FEATURES.items():
            if leg not in legs:
                for key in keys:
                    f[key] = 0.0
        out[code] = f
    return out


def legs_key(legs: tuple[str, ...] | list[str]) -> str:
    return "+".join(leg for leg in LEGS if leg in legs)


@dataclass
class RoutingFit:
    """One fitted ranker + confidence + thresholds, for one set of legs."""

    weights: dict[str, float]
    bias: float
    confidence: dict[str, float]  # bias and one weight per input of `confidence_inputs`
    answer_threshold: float  # one for all languages (and where a language has no threshold of its own)
    clarify_threshold: float
    # A question that contains exactly one service's whole title or keyword, covering at least this share of
    # the question, is answered with that service ("exact names win"; the share is fitted on dev).
    name_share: float = 1.01
    answer_thresholds: dict[str, float] = field(default_factory=dict)  # per language, fitted like the global one

    def threshold(self, lang: str) -> float:
        return self.answer_thresholds.get(lang, self.answer_threshold)

    @classmethod
    def untrained(cls) -> "RoutingFit":
        """Zero weights: what `python -m evals fit` starts from (it only reads the features)."""
        return cls({}, 0.0, {"bias": 0.0, "top": 0.0}, 1.0, 1.0)

    def logit(self, features: dict[str, float]) -> float:
        return self.bias + sum(self.weights.get(k, 0.0) * v for k, v in features.items())

    def top_confidence(self, logits: list[float]) -> float:
        """P(the top candidate is right); `logits` best first."""
        z = self.confidence["bias"]
        for name, value in confidence_inputs(logits).items():
            z += self.confidence.get(name, 0.0) * value
        return _sigmoid(z)


def confidence_inputs(logits: list[float]) -> dict[str, float]:
    """What the confidence reads: the top logit alone. The margin over the runner-up and the top
    candidate's own features were tried (evals/fit_calibration.py) and took negative weights on dev —
    they are already inside the logit — so the confidence stays a monotone map of the ranker's score."""
    return {"top": logits[0]}


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


class RoutingModelMissing(RuntimeError):
    """No fitted routing for the configured legs: `python -m evals fit --write` makes one."""


def load_fits(path: Path = ROUTING_MODEL) -> dict[str, RoutingFit]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {key: RoutingFit(**fit) for key, fit in data["fits"].items()}


@dataclass
class Ranked:
    code: str
    logit: float
    plausible: float  # P(this candidate is a right service), from the ranker alone
    features: dict[str, float] = field(default_factory=dict)


@dataclass
class RouteDecision:
    action: str  # "answer" | "clarify" | "decline"
    confidence: float
    services: list[RoutedService]  # answer: the service first; clarify: the choices; decline: hints
    candidates: list[RoutedService]  # the ranked candidates, whatever the action (evaluation, logs)


def named_service(ranked: list[Ranked], min_share: float) -> Ranked | None:
    """The one candidate whose whole name the question contains and covers most of it (≥ min_share);
    None when there is none or two names tie."""
    named = sorted((r for r in ranked if r.features.get("exact_share", 0.0) > 0), key=lambda r: r.features["exact_share"],
                   reverse=True)
    if not named or named[0].features["exact_share"] < min_share:
        return None
    if len(named) > 1 and named[1].features["exact_share"] >= named[0].features["exact_share"] - 1e-9:
        return None
    return named[0]


class Router:
    """Ranks candidate services and decides; one per assistant, built from the settings."""

    def __init__(self, catalogue: Catalogue, index: ServiceIndex | None, fit: RoutingFit, legs: tuple[str, ...],
                 top_n: int = 3, answer_threshold: float | None = None, clarify_threshold: float | None = None,
                 examples: ExampleIndex | None = None):
        self.catalogue = catalogue
        self.index = index
        self.examples = examples
        self.fit = fit
        self.legs = legs
        self.top_n = top_n
        self.answer_threshold = answer_threshold  # an operator's override for every language; None: the fitted ones
        self.clarify_threshold = fit.clarify_threshold if clarify_threshold is None else clarify_threshold

    def rank(self, hits: list[Hit], question: str) -> list[Ranked]:
        feats = candidate_features(hits, question, self.catalogue, self.index, self.legs, self.examples)
        ranked = [Ranked(code, self.fit.logit(f), 0.0, f) for code, f in feats.items()]
        for r in ranked:
            r.plausible = _sigmoid(r.logit)
        return sorted(ranked, key=lambda r: r.logit, reverse=True)

    def confidence(self, ranked: list[Ranked]) -> float:
        if not ranked:
            return 0.0
        return self.fit.top_confidence([r.logit for r in ranked])

    def service(self, code: str, lang: str, score: float) -> RoutedService:
        entry = self.catalogue.get(code)
        return RoutedService(code, entry.title_for(lang), entry.url_for(lang), round(score, 4))

    def decide(self, hits: list[Hit], question: str, lang: str) -> RouteDecision:
        ranked = self.rank(hits, question)
        threshold = self.fit.threshold(lang) if self.answer_threshold is None else self.answer_threshold
        named = named_service(ranked, self.fit.name_share)
        if named is not None:  # the name wins: it goes first, and is answered
            ranked = [named] + [r for r in ranked if r is not named]
        conf = self.confidence(ranked)
        if named is not None:
            conf = max(conf, threshold)
        top = ranked[: self.top_n]
        candidates = [self.service(r.code, lang, conf if i == 0 else r.plausible) for i, r in enumerate(top)]
        if ranked and conf >= threshold:
            related = [self.service(r.code, lang, r.plausible) for r in top[1:] if r.plausible >= self.clarify_threshold]
            return RouteDecision("answer", conf, [self.service(ranked[0].code, lang, conf), *related], candidates)
        plausible = [r for r in top if r.plausible >= self.clarify_threshold]
        if len(plausible) >= 2:
            return RouteDecision("clarify", conf, [self.service(r.code, lang, r.plausible) for r in plausible],
                                 candidates)
        # hints only when really related: as plausible as a clarification's choice would have to be
        hints = [self.service(r.code, lang, r.plausible) for r in top if r.plausible >= self.clarify_threshold]
        return RouteDecision("decline", conf, hints, candidates)

    def chosen(self, code: str, lang: str) -> RouteDecision:
        """The citizen picked a service (a clarification's button, or `service` in the API): it is certain."""
        routed = self.service(code, lang, 1.0)
        return RouteDecision("answer", 1.0, [routed], [routed])
