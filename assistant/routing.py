"""Routes a question to egov.kz e-services from the retrieved chunks' service codes."""
from __future__ import annotations

import math
from dataclasses import dataclass

from assistant.corpus import Catalogue
from assistant.retrieval import Hit

# How much one chunk of a kind says about its services: a card or catalogue entry names exactly
# one service; an act or a life situation spans several, so each of its codes gets less.
# A catalogue entry is the service's own name and the words citizens use for it: the sharpest evidence.
KIND_WEIGHT = {"catalogue": 1.2, "service": 1.0, "faq": 0.8, "regulation": 0.5, "situation": 0.5, "procedure": 0.5}
# Routing re-fuses the legs' ranks with a smaller constant than retrieval's RRF: what both legs put first
# should decide, not how many chunks a service has (a long card must not outvote an exact catalogue hit).
# Tuned on evals/datasets/dev.jsonl together with max-aggregation (top candidate right: 0.79 → 0.88).
ROUTE_RRF_K = 10


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

    def confidence(self, dense: float | None, lexical: float, agree: bool, share: float) -> float:
        """`dense` None (the dense leg did not find the service) is neutral evidence, not "unrelated"."""
        z = (
            self.bias
            + (self.dense * (dense - self.dense_center) if dense is not None else 0.0)
            + self.lexical * min(lexical, 12.0)
            + (self.agreement if agree else 0.0)
            + self.share * share
        )
        return 1.0 / (1.0 + math.exp(-z))


# One calibration per retrieval mode: a leg that is switched off gives no evidence, so the
# dense-only and lexical-only baselines need their own fit (`python -m evals fit`, dev only). The
# hybrid fit's best threshold (0.40) handles two dev questions more than the configured 0.35
# (settings.answer_threshold); 0.35 is kept, as a higher one would mostly add refusals of right answers.
CALIBRATIONS: dict[str, Calibration] = {
    "hybrid": Calibration(bias=-5.375, dense=21.672, dense_center=0.84, lexical=0.636, agreement=0.33, share=3.753),
    "dense": Calibration(bias=-2.729, dense=47.744, dense_center=0.84, lexical=0.0, agreement=0.0, share=5.605),
    "lexical": Calibration(bias=-6.401, dense=0.0, dense_center=0.84, lexical=0.818, agreement=0.0, share=3.252),
}


@dataclass
class Evidence:
    """What retrieval says about one service: the calibration's inputs (evals/fit_calibration.py reads them)."""

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


def route_services(
    hits: list[Hit], catalogue: Catalogue, lang: str, top_n: int = 3, threshold: float = 0.35,
    calibration: Calibration | None = None,
) -> tuple[list[RoutedService], list[RoutedService]]:
    """(confident services, all ranked candidates); confident ones clear the threshold."""
    calibration = calibration or CALIBRATIONS["hybrid"]
    candidates = []
    for ev in service_evidence(hits, catalogue)[: max(top_n, 5)]:
        entry = catalogue.get(ev.code)
        conf = calibration.confidence(ev.dense, ev.lexical, ev.agree, ev.share)
        candidates.append(RoutedService(ev.code, entry.title_for(lang), entry.url_for(lang), round(conf, 4)))
    confident = [c for c in candidates[:top_n] if c.score >= threshold]
    return confident, candidates[:top_n]
