"""Fits the routing calibration (assistant/routing.py) and the answer threshold on the dev split.

    python -m evals fit --dataset evals/datasets/dev.jsonl

For each retrieval mode (hybrid = ours, dense, lexical) every dev question goes through the
pipeline's own first steps (language, follow-up, retrieval); the top routing candidate's evidence
(best cosine, best BM25, agreement of the legs, share of the routing mass) is the input, and
"the top candidate is an expected service" the label (questions that must be refused are
negatives). A logistic regression (L2, Newton steps, numpy) gives the weights; the threshold is
the one that maximises dev accuracy (right service answered, or refusal when expected) with a
bonus for the worst language, so no language is sacrificed. Never run this on the test split.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from assistant.pipeline import Context, Turn
from assistant.routing import CALIBRATIONS, Calibration, Evidence, service_evidence
from evals.dataset import LANGS, EvalQuestion, load_questions
from evals.systems import default_sources, eval_settings, indexed_assistant, variant

FEATURES = ("dense", "lexical", "agreement", "share")
L2 = 1.0


@dataclass
class Sample:
    question: EvalQuestion
    top: Evidence | None
    correct: bool


def features(ev: Evidence | None, center: float) -> list[float]:
    if ev is None:
        return [0.0, 0.0, 0.0, 0.0]
    dense = ev.dense - center if ev.dense is not None else 0.0
    return [dense, min(ev.lexical, 12.0), float(ev.agree), ev.share]  # exactly as Calibration.confidence


def collect(assistant, questions: list[EvalQuestion]) -> list[Sample]:
    """The pipeline's own steps up to routing, without the question guardrail: routing is calibrated to refuse
    off-topic questions on its own too, not only those the guardrail's patterns know."""
    pipeline = assistant.pipeline
    samples = []
    for q in questions:
        ctx = Context(question=q.question, history=[Turn(t["role"], t["content"]) for t in q.history],
                      audience=q.audience)
        for name, step in pipeline.steps:
            if name == "route" or ctx.answer is not None:
                break
            if name != "label_question":
                step(ctx)
        evidence = service_evidence(ctx.hits, assistant.catalogue)
        top = evidence[0] if evidence else None
        samples.append(Sample(q, top, bool(top and top.code in q.expected_services)))
    return samples


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2) -> np.ndarray:
    """Weights (bias first) by Newton's method on the L2-penalised log-likelihood (bias not penalised)."""
    x = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (p - y) + penalty * w
        hess = x.T @ (x * (p * (1 - p))[:, None]) + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def accuracy_at(samples: list[Sample], conf: np.ndarray, threshold: float) -> dict[str, float]:
    """Share of questions handled right at a threshold (expected service answered, or refused when expected)."""
    right: dict[str, list[bool]] = {}
    for s, c in zip(samples, conf):
        answered = c >= threshold
        right.setdefault(s.question.lang, []).append((not answered) if s.question.should_refuse
                                                     else bool(answered and s.correct))
    acc = {lang: round(float(np.mean(v)), 3) for lang, v in right.items()}
    return {"overall": round(float(np.mean([ok for v in right.values() for ok in v])), 3), **acc}


def choose_threshold(samples: list[Sample], conf: np.ndarray) -> tuple[float, dict]:
    """The threshold with the best dev accuracy plus half the worst language's accuracy."""
    best = (-1.0, 0.5, {})
    for t in np.arange(0.05, 0.95, 0.01):
        acc = accuracy_at(samples, conf, float(t))
        objective = acc["overall"] + 0.5 * min(v for k, v in acc.items() if k != "overall")
        if objective > best[0] + 1e-9:
            best = (objective, round(float(t), 2), acc)
    return best[1], best[2]


def fit_mode(samples: list[Sample], center: float) -> tuple[Calibration, float, dict]:
    x = np.array([features(s.top, center) for s in samples])
    y = np.array([1.0 if s.correct else 0.0 for s in samples])
    used = x.std(axis=0) > 1e-9  # a leg the mode does not have carries no information
    scale = np.where(used, x.std(axis=0), 1.0)
    w = fit_logistic(x[:, used] / scale[used], y)
    weights = np.zeros(len(FEATURES))
    weights[used] = w[1:] / scale[used]
    calibration = Calibration(bias=round(float(w[0]), 3), dense=round(float(weights[0]), 3), dense_center=center,
                              lexical=round(float(weights[1]), 3), agreement=round(float(weights[2]), 3),
                              share=round(float(weights[3]), 3))
    conf = np.array([calibration.confidence(*(s.top.dense, s.top.lexical, s.top.agree, s.top.share)) if s.top else 0.0
                     for s in samples])
    threshold, accuracy = choose_threshold(samples, conf)
    return calibration, threshold, accuracy, conf


def main(args) -> int:
    questions = load_questions(args.dataset)
    if "test" in args.dataset.name:
        print("refusing to fit on a test split: fit on dev, report on test", file=sys.stderr)
        return 2
    settings = eval_settings(args.data_dir)
    ours = indexed_assistant(settings, args.sources or default_sources(settings), ingest=not args.no_ingest,
                             progress=not args.quiet)
    from assistant.service import Assistant

    for mode in ("hybrid", "dense", "lexical"):
        assistant = ours if mode == "hybrid" else Assistant(variant(settings, mode), store=ours.store)
        samples = collect(assistant, questions)
        center = CALIBRATIONS.get(mode, Calibration()).dense_center
        calibration, threshold, accuracy, conf = fit_mode(samples, center)
        routable = [s for s in samples if not s.question.should_refuse]
        per_lang = {lang: round(float(np.mean([s.correct for s in routable if s.question.lang == lang])), 3)
                    for lang in LANGS}
        print(f"{mode}: {len(samples)} questions ({len(routable)} routable); top candidate right on "
              f"{np.mean([s.correct for s in routable]):.3f} {per_lang}")
        print(f'    "{mode}": {calibration!r},')
        print(f"    threshold {threshold}  dev accuracy at it: {accuracy}; at the configured "
              f"{assistant.settings.answer_threshold}: {accuracy_at(samples, conf, assistant.settings.answer_threshold)}")
    return 0
