"""Routes a question to egov.kz e-services from the retrieved chunks' service codes."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from assistant.corpus import Catalogue
from assistant.retrieval import Hit

# How much one chunk of a kind says about its services: a card or catalogue entry names exactly
# one service; an act or a life situation spans several, so each of its codes gets less.
KIND_WEIGHT = {"catalogue": 1.0, "service": 1.0, "faq": 0.8, "regulation": 0.5, "situation": 0.5, "procedure": 0.5}


@dataclass
class RoutedService:
    code: str
    title: str
    url: str
    score: float  # calibrated confidence in [0, 1]


@dataclass(frozen=True)
class Calibration:
    """Logistic map from retrieval evidence to P(the top service is right); fitted on evals/dev."""

    bias: float = -4.0
    dense: float = 40.0  # per unit of (best cosine - dense_center)
    dense_center: float = 0.84
    lexical: float = 0.35  # per unit of best BM25 score
    agreement: float = 1.2  # both legs put the service in their top 3
    share: float = 3.0  # the service's share of the routing mass

    def confidence(self, dense: float, lexical: float, agree: bool, share: float) -> float:
        z = (
            self.bias
            + self.dense * (dense - self.dense_center)
            + self.lexical * min(lexical, 12.0)
            + (self.agreement if agree else 0.0)
            + self.share * share
        )
        return 1.0 / (1.0 + math.exp(-z))


def route_services(
    hits: list[Hit], catalogue: Catalogue, lang: str, top_n: int = 3, threshold: float = 0.35,
    calibration: Calibration = Calibration(),
) -> tuple[list[RoutedService], list[RoutedService]]:
    """(confident services, all ranked candidates); confident ones clear the threshold."""
    mass: dict[str, float] = defaultdict(float)
    best_dense: dict[str, float] = defaultdict(float)
    best_lex: dict[str, float] = defaultdict(float)
    top_ranked: dict[str, bool] = defaultdict(bool)
    for hit in hits:
        codes = [c for c in hit.record.service_codes if c in catalogue]
        if not codes:
            continue
        weight = KIND_WEIGHT.get(hit.meta.get("kind", ""), 0.5) / math.sqrt(len(codes))
        for code in codes:
            mass[code] += hit.score * weight
            best_dense[code] = max(best_dense[code], hit.dense or 0.0)
            best_lex[code] = max(best_lex[code], hit.lexical or 0.0)
            if (hit.dense_rank is not None and hit.dense_rank < 3) and (hit.lexical_rank is not None and hit.lexical_rank < 3):
                top_ranked[code] = True
    total = sum(mass.values()) or 1.0
    ranked = sorted(mass, key=mass.get, reverse=True)
    candidates = []
    for code in ranked[: max(top_n, 5)]:
        entry = catalogue.get(code)
        conf = calibration.confidence(best_dense[code], best_lex[code], top_ranked[code], mass[code] / total)
        candidates.append(RoutedService(code, entry.title_for(lang), entry.url_for(lang), round(conf, 4)))
    confident = [c for c in candidates[:top_n] if c.score >= threshold]
    return confident, candidates[:top_n]
