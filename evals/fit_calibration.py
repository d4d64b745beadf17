"""Fits the router (assistant/routing.py) on the dev split and writes assistant/routing_model.json.

    python -m evals fit --write            # dev only; refuses a test split

For every dev question the pipeline's own first steps run (language, follow-up, retrieval; not the
question guardrail, so routing learns to decline off-topic questions by itself too), and every
candidate service gets the router's features. Then, for each set of legs (ours and each ablation):

1. ranker: a logistic regression (scikit-learn) over the candidates' features, label "this candidate
   is an expected service"; its logit orders the candidates and its probability is a candidate's
   plausibility. Besides the dev questions it learns from the services' own names (every catalogue
   title in kk/ru/en and every portal Kazakh title, asked as they are): a citizen who types a title
   means that service, and dev questions alone rarely show it;
2. confidence: a logistic map from the best logit and its margin over the runner-up to "the top
   candidate is right" (questions that must be refused are negatives), fitted on out-of-fold
   logits (5 folds by question) so it sees the ranker's errors on questions it was not fitted on;
3. answer thresholds: one per language, the lowest confidence at which the out-of-fold answers of that
   language's dev questions (not the names) are right ≥ 98% (and at least MIN_ANSWERED are answered),
   kept only if all languages together stay ≥ 98%; else one threshold for all: right ≥ 98% overall and
   ≥ 97% in each language;
4. clarify threshold: the plausibility two or three candidates must reach for a "which one?",
   chosen to maximise right choices minus twice the wrong ones among the unanswered.

The out-of-fold figures per language are printed: they are the ablation on dev.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import date

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from assistant.pipeline import Context, Turn
from assistant.components import build_store
from assistant.corpus import Catalogue
from assistant.example_index import ExampleIndex
from assistant.guardrails import Label, label_question
from assistant.routing import (FEATURES, LEGS, Ranked, Router, RoutingFit, candidate_features, confidence_inputs,
                               legs_key, named_service)
from assistant.service_index import ServiceIndex, load_portal_pages
from evals.dataset import LANGS, EvalQuestion, load_questions
from evals.systems import default_sources, eval_settings, indexed_assistant

# The sets of legs fitted: ours, each leg left out, and the single-retriever baselines.
CONFIGS = [
    ("dense", "lexical", "names", "chars", "examples"),
    ("lexical", "names", "chars", "examples"),
    ("dense", "names", "chars", "examples"),
    ("dense", "lexical", "chars", "examples"),
    ("dense", "lexical", "names", "examples"),
    ("dense", "lexical", "names", "chars"),
    ("dense", "lexical"),
    ("dense",),
    ("lexical",),
]
TARGET_PRECISION = 0.98
LANG_PRECISION = 0.97
FOLDS = 5
MIN_NAME_HITS = 20
MIN_ANSWERED = 20  # a language's threshold must rest on at least this many dev answers
NAME_WEIGHT = 0.3  # a name asked verbatim teaches the ranker, but citizens' questions should decide its weights
C = 1.0


@dataclass
class Sample:
    question: EvalQuestion
    codes: list[str]
    x: np.ndarray  # one row per candidate, FEATURES order
    y: np.ndarray
    reaches_router: bool = True  # the question guardrail does not answer it first

    def features(self, i: int) -> dict[str, float]:
        return dict(zip(FEATURES, self.x[i]))


def retrieval_mode(legs: tuple[str, ...]) -> str:
    if "dense" in legs and "lexical" in legs:
        return "hybrid"
    return "dense" if "dense" in legs else "lexical"


def search_contexts(assistant, questions: list[EvalQuestion], mode: str) -> list[Context]:
    """The pipeline's steps up to routing, in one retrieval mode."""
    pipeline = assistant.pipeline
    settings = assistant.settings
    out = []
    for q in questions:
        ctx = Context(question=q.question, history=[Turn(t["role"], t["content"]) for t in q.history],
                      audience=q.audience)
        for name, step in pipeline.steps:
            if name == "route" or ctx.answer is not None:
                break
            if name == "retrieve":
                ctx.hits = assistant.retriever.search(ctx.search_query, audience=ctx.audience, k=settings.retrieve_k,
                                                      mode=mode)
            elif name != "label_question":
                step(ctx)
        out.append(ctx)
    return out


def samples_for(assistant, contexts: list[Context], questions: list[EvalQuestion], legs: tuple[str, ...]
                ) -> list[Sample]:
    index, examples = assistant.router.index, assistant.router.examples
    samples = []
    for ctx, q in zip(contexts, questions):
        # a dev question's own example is left out: the leg is worth what it does for a question it has not seen
        feats = candidate_features(ctx.hits, ctx.search_query, assistant.catalogue, index, legs, examples, q.id)
        codes = list(feats)
        x = np.array([[feats[c][k] for k in FEATURES] for c in codes]) if codes else np.zeros((0, len(FEATURES)))
        y = np.array([1.0 if c in q.expected_services else 0.0 for c in codes])
        label = label_question(ctx.question, q.audience)
        samples.append(Sample(q, codes, x, y, label in (Label.GENUINE, Label.PERSONAL_ACCOUNT)))
    return samples


def fit_ranker(samples: list[Sample]) -> LogisticRegression:
    used = [s for s in samples if len(s.codes)]
    x = np.vstack([s.x for s in used])
    y = np.concatenate([s.y for s in used])
    weight = np.concatenate([np.full(len(s.codes), NAME_WEIGHT if s.question.kind == "name" else 1.0) for s in used])
    return LogisticRegression(C=C, max_iter=5000).fit(x, y, sample_weight=weight)


def fit_legs(samples: list[Sample], legs: tuple[str, ...]) -> tuple[RoutingFit, dict]:
    """Ranker on all of dev; confidence and thresholds from out-of-fold logits, over the questions that reach
    the router (what the question guardrail answers never gets this far)."""
    oof: list[np.ndarray | None] = [None] * len(samples)
    groups = [s.question.id for s in samples]
    for train, held in GroupKFold(n_splits=FOLDS).split(np.zeros(len(samples)), groups=groups):
        model = fit_ranker([samples[i] for i in train])
        for i in held:
            oof[i] = model.decision_function(samples[i].x) if len(samples[i].codes) else np.zeros(0)
    ranker = fit_ranker(samples)
    # confidence: P(top candidate right | its logit)
    rows, labels = [], []
    for s, logits in zip(samples, oof):
        if not len(logits) or not s.reaches_router or s.question.kind == "name":
            continue
        rows.append(confidence_inputs(sorted(map(float, logits), reverse=True)))
        labels.append(float(s.y[int(np.argmax(logits))] > 0))
    names = list(rows[0])
    conf_model = LogisticRegression(C=C, max_iter=5000).fit(np.array([[r[k] for k in names] for r in rows]),
                                                            np.array(labels))
    confidence = {"bias": float(conf_model.intercept_[0]), **dict(zip(names, map(float, conf_model.coef_[0])))}
    fit = RoutingFit(weights={k: round(float(w), 4) for k, w in zip(FEATURES, ranker.coef_[0])},
                     bias=round(float(ranker.intercept_[0]), 4), confidence={k: round(v, 4) for k, v in confidence.items()},
                     answer_threshold=0.5, clarify_threshold=0.3)
    kept = [i for i, s in enumerate(samples) if s.reaches_router and s.question.kind != "name"]
    samples, oof = [samples[i] for i in kept], [oof[i] for i in kept]
    if "names" in legs:
        fit.name_share = choose_name_share(samples)
    outcomes = [_outcome(s, logits, fit) for s, logits in zip(samples, oof)]
    fit.answer_threshold = choose_answer_threshold(samples, outcomes)
    fit.answer_thresholds = choose_language_thresholds(samples, outcomes, fit.answer_threshold)
    fit.clarify_threshold = choose_clarify_threshold(samples, outcomes, fit)
    return fit, oof_report(samples, outcomes, fit)


def ranked_of(s: Sample, logits: np.ndarray) -> list[Ranked]:
    return sorted((Ranked(c, float(l), 0.0, s.features(i)) for i, (c, l) in enumerate(zip(s.codes, logits))),
                  key=lambda r: r.logit, reverse=True)


def choose_name_share(samples: list[Sample]) -> float:
    """The lowest share of the question a unique whole name must cover for "the name wins" to be right
    ≥ TARGET_PRECISION on dev (and to fire at least MIN_NAME_HITS times)."""
    ranked = [ranked_of(s, np.zeros(len(s.codes))) for s in samples if len(s.codes)]  # the rule reads features only
    expected = [s.question.expected_services for s in samples if len(s.codes)]
    for share in np.arange(0.1, 1.0, 0.05):
        named = [(named_service(r, share), e) for r, e in zip(ranked, expected)]
        fired = [(n, e) for n, e in named if n is not None]
        right = [n for n, e in fired if n.code in e]
        if len(fired) >= MIN_NAME_HITS and len(right) / len(fired) >= TARGET_PRECISION:
            return round(float(share), 2)
    return 1.01


def _outcome(s: Sample, logits: np.ndarray, fit: RoutingFit) -> dict:
    if not len(logits):
        return {"conf": 0.0, "top_right": False, "plausible": []}
    named = named_service(ranked_of(s, logits), fit.name_share)
    if named is not None:  # as Router.decide: the name goes first and is answered
        return {"conf": 1.0, "top_right": named.code in s.question.expected_services,
                "plausible": [(1.0, named.code in s.question.expected_services)]}
    order = np.argsort(-logits)
    conf = fit.top_confidence([float(logits[i]) for i in order])
    plausible = [(1 / (1 + np.exp(-float(logits[i]))), bool(s.y[i] > 0)) for i in order[:3]]
    return {"conf": conf, "top_right": bool(s.y[order[0]] > 0), "plausible": plausible}


def choose_answer_threshold(samples: list[Sample], outcomes: list[dict]) -> float:
    """The lowest threshold at which the answered questions are right ≥ TARGET_PRECISION overall and
    ≥ LANG_PRECISION in each language (one language has too few dev questions to ask 99% of it alone)."""
    for t in np.arange(0.30, 0.995, 0.01):
        answered = [(s, o) for s, o in zip(samples, outcomes) if o["conf"] >= t]
        if not answered or np.mean([o["top_right"] for _, o in answered]) < TARGET_PRECISION:
            continue
        if all(np.mean([o["top_right"] for s, o in answered if s.question.lang == lang]) >= LANG_PRECISION
               for lang in LANGS if any(s.question.lang == lang for s, _ in answered)):
            return round(float(t), 2)
    return 0.99


def choose_language_thresholds(samples: list[Sample], outcomes: list[dict], shared: float) -> dict[str, float]:
    """Per language, the lowest threshold (never above the shared one) whose answers are right ≥ TARGET_PRECISION,
    resting on at least MIN_ANSWERED answers; a language with none keeps the shared threshold. {} when together
    they would be right < TARGET_PRECISION."""
    chosen = {}
    for lang in LANGS:
        pairs = [o for s, o in zip(samples, outcomes) if s.question.lang == lang]
        for t in np.arange(0.30, shared, 0.01):
            answered = [o["top_right"] for o in pairs if o["conf"] >= t]
            if len(answered) >= MIN_ANSWERED and np.mean(answered) >= TARGET_PRECISION:
                chosen[lang] = round(float(t), 2)
                break
    answered = [o["top_right"] for s, o in zip(samples, outcomes) if o["conf"] >= chosen.get(s.question.lang, shared)]
    return chosen if answered and np.mean(answered) >= TARGET_PRECISION else {}


def choose_clarify_threshold(samples: list[Sample], outcomes: list[dict], fit: RoutingFit) -> float:
    best = (-1e9, 0.5)
    for c in np.arange(0.05, 0.9, 0.01):
        score = 0
        for s, o in zip(samples, outcomes):
            if o["conf"] >= fit.threshold(s.question.lang):
                continue
            choices = [right for p, right in o["plausible"] if p >= c]
            if len(choices) >= 2:
                score += 1 if any(choices) else -2
        if score > best[0]:
            best = (score, round(float(c), 2))
    return best[1]


def oof_report(samples: list[Sample], outcomes: list[dict], fit: RoutingFit) -> dict:
    """Out-of-fold figures on dev per language: ranked top-1, answered, answered-right, answered-wrong,
    clarified, refusal recall."""
    report = {}
    for lang in (*LANGS, "all"):
        pairs = [(s, o) for s, o in zip(samples, outcomes) if lang == "all" or s.question.lang == lang]
        routable = [(s, o) for s, o in pairs if not s.question.should_refuse]
        refuse = [(s, o) for s, o in pairs if s.question.should_refuse]
        answered = [(s, o) for s, o in pairs if o["conf"] >= fit.threshold(s.question.lang)]
        clarified = [(s, o) for s, o in pairs if o["conf"] < fit.threshold(s.question.lang)
                     and sum(p >= fit.clarify_threshold for p, _ in o["plausible"]) >= 2]
        report[lang] = {
            "n": len(pairs),
            "ranked_top1": _r(sum(o["top_right"] for _, o in routable), len(routable)),
            "top1": _r(sum(o["top_right"] for _, o in answered), len(routable)),
            "answered_wrong": _r(sum(not o["top_right"] for _, o in answered), len(answered)),
            "clarified": _r(len(clarified), len(pairs)),
            "refusal_recall": _r(sum(o["conf"] < fit.threshold(s.question.lang) for s, o in refuse), len(refuse)),
        }
    return report


def _r(num: float, den: int) -> float | None:
    return round(num / den, 4) if den else None


def name_questions(catalogue: Catalogue, portal_pages) -> list[EvalQuestion]:
    """Each service's official names asked verbatim: catalogue titles (kk/ru/en) and portal Kazakh titles."""
    out = []
    for code, entry in sorted(catalogue.by_code.items()):
        for lang, title in sorted(entry.title.items()):
            out.append(EvalQuestion(f"name-{code}-{lang}", lang, title, [code], kind="name"))
    for page in load_portal_pages(portal_pages):
        if page["code"] in catalogue and page.get("title_kk"):
            out.append(EvalQuestion(f"portal-{page['code']}", "kk", page["title_kk"], [page["code"]], kind="name"))
    return out


def main(args) -> int:
    if "test" in args.dataset.name:
        print("refusing to fit on a test split: fit on dev, report on test", file=sys.stderr)
        return 2
    settings = eval_settings(args.data_dir)
    dev = load_questions(args.dataset)
    questions = dev + name_questions(Catalogue.load(settings.corpus_dir), settings.portal_pages)
    catalogue = Catalogue.load(settings.corpus_dir)
    store = build_store(settings)
    examples = ExampleIndex.build(catalogue, store.embeddings, settings.portal_pages, args.dataset)
    router = Router(catalogue, ServiceIndex.build(catalogue, settings.portal_pages), RoutingFit.untrained(), LEGS,
                    examples=examples)
    assistant = indexed_assistant(settings, args.sources or default_sources(settings), ingest=not args.no_ingest,
                                  progress=not args.quiet, router=router, store=store)
    contexts = {mode: search_contexts(assistant, questions, mode) for mode in ("hybrid", "dense", "lexical")}
    fits, reports = {}, {}
    for legs in CONFIGS:
        samples = samples_for(assistant, contexts[retrieval_mode(legs)], questions, legs)
        fit, report = fit_legs(samples, legs)
        fits[legs_key(legs)], reports[legs_key(legs)] = fit, report
        print(f"{legs_key(legs):28s} answer≥{fit.answer_thresholds or fit.answer_threshold} "
              f"clarify≥{fit.clarify_threshold:.2f}  "
              + "  ".join(f"{lang}: rank {r['ranked_top1']} top1 {r['top1']} wrong {r['answered_wrong']} "
                          f"clar {r['clarified']}" for lang, r in report.items()))
    if args.write:
        payload = {
            "fitted_on": str(args.dataset), "fitted": date.today().isoformat(), "questions": len(dev),
            "names": len(questions) - len(dev),
            "legs": list(LEGS), "features": list(FEATURES),
            "fits": {k: fit.__dict__ for k, fit in fits.items()},
            "dev_out_of_fold": reports,
        }
        settings.routing_model.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {settings.routing_model}")
    return 0
