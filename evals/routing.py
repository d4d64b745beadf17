"""Routing, refusal, citation and latency evaluation of `Assistant.ask` (the call the API makes).

Every row of a dataset goes through the same `Assistant.ask` the API uses (audience from the
row, history for follow-ups, language detected as for a citizen), and the answer record is
scored: routing top-1/top-3, refusal precision/recall, citation validity, staff leaks, latency,
and faithfulness (share of answer sentences supported by a cited source).
"""
from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm import tqdm

from assistant.answer import Answer, Status
from assistant.citations import check_citations, normalise
from assistant.retrieval import audiences_for
from assistant.service import Assistant
from assistant.store import VectorStore
from assistant.verification import faithfulness as generated_faithfulness
from evals.dataset import LANGS, EvalQuestion

log = logging.getLogger(__name__)

# The JSON of a run has exactly these keys (issue 7): groups, then metrics in each group.
GROUPS = ("overall", "by_lang", "by_kind")
METRICS = ("n", "top1", "top3", "ranked_top1", "answered_wrong", "clarified", "clarified_right", "refusal_precision",
           "refusal_recall", "citation_valid", "act_answered", "act_wrong", "staff_leaks", "p50_ms", "p95_ms")
_MARKER_NUMBERS = re.compile(r"\[(\d+)\]")
_STAFF_LINE_MIN = 40  # a staff sentence this long showing up verbatim in a public answer is a leak


@dataclass
class RowResult:
    """One question's outcome, as the metrics and the report read it."""

    id: str
    lang: str
    kind: str
    audience: str
    question: str
    expected: list[str]
    routed: list[str]  # services returned with an answer (empty when declined)
    hints: list[str]  # services suggested on a refusal
    candidates: list[str]  # the router's ranked candidates, whatever the outcome
    declined: bool
    clarified: bool  # asked "which of these?" instead of answering
    status: str
    detected_lang: str
    latency_ms: float
    citation_valid: bool | None  # None when there is nothing to cite (a refusal)
    faithfulness: float | None
    staff_leak: bool
    problems: list[str] = field(default_factory=list)
    expected_acts: list[str] = field(default_factory=list)
    act: str | None = None  # the act folder an answer quoted, when no service fitted (assistant/acts.py)

    @property
    def should_refuse(self) -> bool:
        return not self.expected

    def hit(self, k: int) -> bool | None:
        if self.should_refuse:
            return None
        return any(code in self.expected for code in self.routed[:k])

    @property
    def answered_wrong(self) -> bool:
        """Answered with a service that is not an expected one (or answered what must be refused)."""
        return bool(self.routed) and not self.declined and self.routed[0] not in self.expected


class IndexOracle:
    """Answers 'is this source really a passage of the index?' and 'did staff text leak?'."""

    def __init__(self, store: VectorStore):
        self.store = store
        self._docs: dict[tuple[str, str], set[str]] = {}
        self._staff_lines: list[str] | None = None
        self._staff_docs: set[str] = set()

    def indexed(self, doc_id: str, text: str, audience: str) -> bool:
        for aud in audiences_for(audience):
            key = (aud, doc_id)
            if key not in self._docs:
                self._docs[key] = {r.text for r in self.store.records(aud, where={"doc_id": doc_id})}
            if text in self._docs[key]:
                return True
        return False

    def _load_staff(self) -> None:
        if self._staff_lines is not None:
            return
        lines: set[str] = set()
        try:
            staff = self.store.records("staff")
        except Exception:  # no staff collection yet
            staff = []
        for record in staff:
            self._staff_docs.add(record.meta.get("doc_id", ""))
            for line in record.body.splitlines():
                line = normalise(line.lstrip("-*• "))
                if len(line) >= _STAFF_LINE_MIN:
                    lines.add(line)
        self._staff_lines = sorted(lines)

    def leaks_staff(self, answer: Answer) -> bool:
        self._load_staff()
        if any(s.audience != "public" or s.doc_id in self._staff_docs for s in answer.sources):
            return True
        text = normalise(answer.answer)
        return any(line in text for line in self._staff_lines)


def declined(answer: Answer) -> bool:
    """No service offered as the answer: a refusal (perhaps with hints), a clarification (choices, not an
    answer), an error, or a reply without a service.

    A guardrail reply that still routes (a question about the citizen's own account gets the
    services that show it) counts as routed.
    """
    return (answer.refused or answer.status in (Status.ERROR, Status.UNANSWERABLE_NO_SOURCES, Status.CLARIFICATION)
            or not answer.services)


def quoted_act(answer: Answer) -> str | None:
    """The act folder an answer from an act's standard quotes (`act-<folder>-<lang>`), else None."""
    if answer.basis != "act" or not answer.sources:
        return None
    return answer.sources[0].doc_id.removeprefix("act-").rsplit("-", 1)[0]


def citation_report(answer: Answer, oracle: IndexOracle, audience: str) -> tuple[bool, list[str]]:
    """Every [n] resolves to a listed source, and every source is a passage of the index the row may open."""
    problems = []
    numbers = {s.n for s in answer.sources}
    for n in sorted({int(m) for m in _MARKER_NUMBERS.findall(answer.answer)} - numbers):
        problems.append(f"[{n}] resolves to no source")
    for source in answer.sources:
        if not oracle.indexed(source.doc_id, source.text, audience):
            problems.append(f"source [{source.n}] {source.doc_id!r} is not a passage of the index")
    return not problems, problems


def evaluate(assistant: Assistant, questions: list[EvalQuestion], progress: bool = True, desc: str = "routing"
             ) -> list[RowResult]:
    """Ask every question once and score the answer record."""
    oracle = IndexOracle(assistant.store)
    assistant.ask("справка о несудимости")  # warm-up (lexical index, caches): not a citizen's latency
    results = []
    for q in tqdm(questions, desc=desc, unit="q", disable=not progress):
        t0 = time.perf_counter()
        answer = assistant.ask(q.question, history=q.history, audience=q.audience)
        latency = (time.perf_counter() - t0) * 1000
        is_declined = declined(answer)
        codes = [s.code for s in answer.services]
        act = quoted_act(answer)
        valid, problems, faithful = None, [], None
        if not is_declined or act:
            valid, problems = citation_report(answer, oracle, q.audience)
            if answer.generator != "composer" and answer.fallback is None and answer.status != Status.GUARDRAIL:
                # an LLM paraphrases: its claims are scored by word support, as verification checks them
                faithful = generated_faithfulness(answer.answer, answer.sources, answer.lang, q.question)
            elif answer.status != Status.GUARDRAIL:  # a fixed reply in the assistant's own voice quotes nothing
                check = check_citations(answer.answer, answer.sources)
                faithful = check.faithfulness
                problems += check.problems
        results.append(RowResult(
            id=q.id, lang=q.lang, kind=q.kind, audience=q.audience, question=q.question,
            expected=q.expected_services, routed=[] if is_declined else codes, hints=codes if is_declined else [],
            candidates=[c["code"] for c in answer.metrics.get("candidates", [])],
            declined=is_declined, clarified=answer.status == Status.CLARIFICATION, status=getattr(answer.status, "value", str(answer.status)),
            detected_lang=answer.lang, latency_ms=round(latency, 2), citation_valid=valid, faithfulness=faithful,
            staff_leak=q.audience != "staff" and oracle.leaks_staff(answer), problems=problems,
            expected_acts=q.expected_acts, act=act,
        ))
    return results


# --- metrics ------------------------------------------------------------------------------


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def metrics(rows: list[RowResult]) -> dict:
    """The issue's nine numbers for one group of rows (None where the group has no such rows)."""
    routable = [r for r in rows if not r.should_refuse]
    answered = [r for r in rows if not r.declined]
    cited = [r for r in rows if not r.declined or r.act]  # answers from an act are checked like card answers
    from_acts = [r for r in rows if r.act]
    act_expected = [r for r in rows if r.expected_acts]
    clarified = [r for r in rows if r.clarified]
    tp = sum(1 for r in rows if r.declined and r.should_refuse)
    fp = sum(1 for r in rows if r.declined and not r.should_refuse)
    fn = sum(1 for r in rows if not r.declined and r.should_refuse)
    latencies = np.array([r.latency_ms for r in rows]) if rows else np.array([0.0])
    return {
        "n": len(rows),
        "top1": _ratio(sum(bool(r.hit(1)) for r in routable), len(routable)),
        "top3": _ratio(sum(bool(r.hit(3)) for r in routable), len(routable)),
        # the router's first candidate, whether it answered, asked or declined: what ranking alone achieves
        "ranked_top1": _ratio(sum(bool(r.candidates[:1] and r.candidates[0] in r.expected) for r in routable),
                              len(routable)),
        "answered_wrong": _ratio(sum(r.answered_wrong for r in answered), len(answered)),
        "clarified": _ratio(len(clarified), len(rows)),
        "clarified_right": _ratio(sum(any(c in r.expected for c in r.hints) for r in clarified), len(clarified)),
        "refusal_precision": _ratio(tp, tp + fp),
        "refusal_recall": _ratio(tp, tp + fn),
        "citation_valid": _ratio(sum(bool(r.citation_valid) for r in cited), len(cited)),
        # questions an act's standard answers (no service does): answered from that act / act answers from another
        "act_answered": _ratio(sum(1 for r in act_expected if r.act in r.expected_acts), len(act_expected)),
        "act_wrong": _ratio(sum(1 for r in from_acts if r.act not in r.expected_acts), len(from_acts)),
        "staff_leaks": sum(1 for r in rows if r.audience != "staff" and r.staff_leak),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p95_ms": round(float(np.percentile(latencies, 95)), 1),
    }


def summarise(rows: list[RowResult]) -> dict:
    """`{"overall", "by_lang", "by_kind"}`: the JSON the issue specifies, nothing more."""
    by_lang: dict[str, list[RowResult]] = defaultdict(list)
    by_kind: dict[str, list[RowResult]] = defaultdict(list)
    for r in rows:
        by_lang[r.lang].append(r)
        by_kind[r.kind].append(r)
    lang_order = [lang for lang in LANGS if lang in by_lang] + sorted(set(by_lang) - set(LANGS))
    return {
        "overall": metrics(rows),
        "by_lang": {lang: metrics(by_lang[lang]) for lang in lang_order},
        "by_kind": {kind: metrics(by_kind[kind]) for kind in sorted(by_kind)},
    }


def extras(rows: list[RowResult]) -> dict:
    """Numbers beyond the gate's: faithfulness, language detection, what was missed."""
    answered = [r for r in rows if not r.declined and r.faithfulness is not None]
    faith = [r.faithfulness for r in answered]
    by_lang = defaultdict(list)
    for r in answered:
        by_lang[r.lang].append(r.faithfulness)
    return {
        "faithfulness": round(float(np.mean(faith)), 4) if faith else None,
        "faithfulness_by_lang": {k: round(float(np.mean(v)), 4) for k, v in sorted(by_lang.items())},
        "fully_supported_answers": _ratio(sum(1 for f in faith if f >= 1.0), len(faith)),
        "answered": len(answered),
        "language_detected": _ratio(sum(1 for r in rows if r.detected_lang == r.lang), len(rows)),
        "misses": [
            {"id": r.id, "lang": r.lang, "kind": r.kind, "question": r.question, "expected": r.expected,
             "got": r.routed[:3] or ([f"(act {r.act})"] if r.act else ["(refused)"] + r.hints[:2]),
             **({"expected_acts": r.expected_acts} if r.expected_acts else {})}
            for r in rows if (r.should_refuse and not r.declined) or (not r.should_refuse and not r.hit(1))
            or (r.act or r.expected_acts) and r.act not in r.expected_acts
        ],
    }


def rows_as_dicts(rows: list[RowResult]) -> list[dict]:
    return [asdict(r) for r in rows]
