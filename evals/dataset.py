"""Evaluation questions in JSONL (schema in evals/datasets/README.md), read with the issue's defaults."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

LANGS = ("kk", "ru", "en")
KINDS = ("routing", "fact", "out_of_scope", "out_of_catalogue", "injection", "staff_only", "followup")


class DatasetError(ValueError):
    """A dataset line that cannot be evaluated, with its file and line number."""


@dataclass
class EvalQuestion:
    """One row: only id, lang, question and expected_services are required."""

    id: str
    lang: str
    question: str
    expected_services: list[str]
    audience: str = "public"
    kind: str = "routing"
    history: list[dict] = field(default_factory=list)
    expected_sources: list[str] = field(default_factory=list)
    expected_acts: list[str] = field(default_factory=list)  # act folders whose standard answers it (no service does)

    @property
    def should_refuse(self) -> bool:
        return not self.expected_services


def parse_row(row: dict, where: str = "") -> EvalQuestion:
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: not a JSON object")
    missing = [k for k in ("id", "lang", "question", "expected_services") if k not in row]
    if missing:
        raise DatasetError(f"{where}: missing {', '.join(missing)}")
    expected = row["expected_services"]
    if not isinstance(expected, list) or not all(isinstance(c, str) for c in expected):
        raise DatasetError(f"{where}: expected_services must be a list of codes")
    if row["lang"] not in LANGS:
        raise DatasetError(f"{where}: lang must be one of {', '.join(LANGS)}, not {row['lang']!r}")
    if not isinstance(row["question"], str) or not row["question"].strip():
        raise DatasetError(f"{where}: question must be a non-empty string")
    audience = row.get("audience") or "public"
    if audience not in ("public", "staff"):
        raise DatasetError(f"{where}: audience must be public or staff, not {audience!r}")
    history = row.get("history") or []
    if not isinstance(history, list) or not all(
        isinstance(t, dict) and t.get("role") in ("user", "assistant") and isinstance(t.get("content"), str)
        for t in history
    ):
        raise DatasetError(f"{where}: history must be a list of {{role: user|assistant, content}} turns")
    return EvalQuestion(
        id=str(row["id"]),
        lang=row["lang"],
        question=row["question"],
        expected_services=list(expected),
        audience=audience,
        kind=row.get("kind") or ("routing" if expected else "out_of_scope"),
        history=history,
        expected_sources=list(row.get("expected_sources") or []),
        expected_acts=_acts(row.get("expected_acts"), where),
    )


def _acts(value, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(a, str) and a for a in value):
        raise DatasetError(f"{where}: expected_acts must be a list of act folder names (e.g. qriim--140840)")
    return list(value)


def load_questions(path: Path) -> list[EvalQuestion]:
    """Every row of a JSONL file; blank lines are skipped, a bad row stops with its line number."""
    rows: list[EvalQuestion] = []
    seen: set[str] = set()
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = parse_row(json.loads(line), where)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: invalid JSON ({exc.msg})") from exc
        if row.id in seen:
            raise DatasetError(f"{where}: duplicate id {row.id}")
        seen.add(row.id)
        rows.append(row)
    if not rows:
        raise DatasetError(f"{path}: no questions")
    return rows
