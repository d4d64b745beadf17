"""The CI gate: a run's numbers against the floors in evals/thresholds.yaml."""
from __future__ import annotations

from pathlib import Path

import yaml

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.yaml"


def load_thresholds(path: Path = THRESHOLDS) -> dict:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get("min", {}), dict) or not isinstance(data.get("max", {}), dict):
        raise ValueError(f"{path}: expected a mapping with `min:` and/or `max:` of metric paths")
    if not data.get("min") and not data.get("max"):
        raise ValueError(f"{path}: no thresholds under `min:` or `max:`")
    return data


def lookup(summary: dict, path: str):
    """`by_lang.kk.top1` → summary["by_lang"]["kk"]["top1"] (None when absent)."""
    node = summary
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check(summary: dict, thresholds: dict) -> list[str]:
    """Every failed floor or ceiling, in words; an unmeasured metric fails too."""
    failures = []
    for path, floor in (thresholds.get("min") or {}).items():
        value = lookup(summary, path)
        if value is None:
            failures.append(f"{path}: not measured (floor {floor})")
        elif value < floor:
            failures.append(f"{path} = {value:.3f} < {floor}")
    for path, ceiling in (thresholds.get("max") or {}).items():
        value = lookup(summary, path)
        if value is None:
            failures.append(f"{path}: not measured (ceiling {ceiling})")
        elif value > ceiling:
            failures.append(f"{path} = {value} > {ceiling}")
    return failures
