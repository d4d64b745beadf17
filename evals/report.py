"""`--report DIR`: a Markdown summary and PNG plots of one evaluation run."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from evals.dataset import LANGS
from evals.routing import RowResult, rows_as_dicts
from evals.systems import SYSTEMS


def _fmt(value, pct: bool = True) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and pct:
        return f"{100 * value:.1f}"
    return str(value)


def comparison_table(runs: dict[str, dict]) -> list[str]:
    """Ours vs baselines, per language: the table the README quotes."""
    lines = ["| system | lang | n | top-1 | top-3 | refusal P | refusal R | citations valid | staff leaks | "
             "faithfulness | p50 ms | p95 ms |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, run in runs.items():
        summary, extra = run["summary"], run["extras"]
        groups = [("all", summary["overall"], extra["faithfulness"])] + [
            (lang, m, extra["faithfulness_by_lang"].get(lang)) for lang, m in summary["by_lang"].items()]
        for lang, m, faith in groups:
            lines.append(
                f"| {name} | {lang} | {m['n']} | {_fmt(m['top1'])} | {_fmt(m['top3'])} | "
                f"{_fmt(m['refusal_precision'])} | {_fmt(m['refusal_recall'])} | {_fmt(m['citation_valid'])} | "
                f"{m['staff_leaks']} | {_fmt(faith)} | {m['p50_ms']:.0f} | {m['p95_ms']:.0f} |")
    return lines


def kind_table(summary: dict) -> list[str]:
    lines = ["| kind | n | top-1 | top-3 | refusal P | refusal R | citations valid | staff leaks |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for kind, m in summary["by_kind"].items():
        lines.append(f"| {kind} | {m['n']} | {_fmt(m['top1'])} | {_fmt(m['top3'])} | {_fmt(m['refusal_precision'])} | "
                     f"{_fmt(m['refusal_recall'])} | {_fmt(m['citation_valid'])} | {m['staff_leaks']} |")
    return lines


def write_report(out: Path, dataset: str, runs: dict[str, dict], gate_failures: list[str] | None = None) -> Path:
    """report.md, per_language.png, latency.png, confusion.png, summary.json and rows.jsonl in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    ours = runs.get("ours") or next(iter(runs.values()))
    rows: list[RowResult] = ours["rows"]
    md = [f"# Routing evaluation: `{dataset}`", "",
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {len(rows)} questions. Percentages; latency is the "
          "wall time of one `Assistant.ask` on this machine.", ""]
    md += [f"- **{name}**: {SYSTEMS.get(name, name)}" for name in runs] + [""]
    md += ["## Ours vs baselines, per language", ""] + comparison_table(runs) + [""]
    if gate_failures is not None:
        md += ["## Gate", "", "passed" if not gate_failures else "FAILED:", ""] + [f"- {f}" for f in gate_failures]
        md += [""]
    md += ["## By kind (ours)", ""] + kind_table(ours["summary"]) + [""]
    extra = ours["extras"]
    md += [f"Language detected as labelled: {_fmt(extra['language_detected'])}%. Answers fully supported by their "
           f"citations: {_fmt(extra['fully_supported_answers'])}% of {extra['answered']}.", ""]
    md += ["![per language](per_language.png)", "", "![latency](latency.png)", "", "![most missed](confusion.png)", ""]
    misses = extra["misses"]
    md += [f"## Misses (ours): {len(misses)}", "", "| id | kind | question | expected | got |", "|---|---|---|---|---|"]
    for m in misses:
        q = m["question"].replace("|", "/").replace("\n", " ")
        md.append(f"| {m['id']} | {m['kind']} | {q[:90]} | {', '.join(m['expected']) or '(refuse)'} | "
                  f"{', '.join(m['got']) or '–'} |")
    bad = [r for r in rows if r.citation_valid is False or r.staff_leak]
    if bad:
        md += ["", "## Citation problems and leaks (ours)", ""]
        md += [f"- {r.id}: {'staff leak; ' if r.staff_leak else ''}{'; '.join(r.problems[:3])}" for r in bad]
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(
        {name: {"summary": run["summary"], "extras": {k: v for k, v in run["extras"].items() if k != "misses"}}
         for name, run in runs.items()}, ensure_ascii=False, indent=2), encoding="utf-8")
    with (out / "rows.jsonl").open("w", encoding="utf-8") as fh:
        for name, run in runs.items():
            for row in rows_as_dicts(run["rows"]):
                fh.write(json.dumps({"system": name, **row}, ensure_ascii=False) + "\n")
    plot_languages(runs, out / "per_language.png")
    plot_latency(runs, out / "latency.png")
    plot_confusion(rows, out / "confusion.png")
    return out / "report.md"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_languages(runs: dict[str, dict], path: Path) -> None:
    plt = _pyplot()
    import numpy as np

    groups = [lang for lang in LANGS if any(lang in r["summary"]["by_lang"] for r in runs.values())] + ["all"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / max(1, len(runs))
    for ax, metric, title in ((axes[0], "top1", "routing top-1"), (axes[1], "refusal_recall", "refusal recall")):
        for i, (name, run) in enumerate(runs.items()):
            values = []
            for g in groups:
                m = run["summary"]["overall"] if g == "all" else run["summary"]["by_lang"].get(g, {})
                values.append(m.get(metric) or 0.0)
            ax.bar(np.arange(len(groups)) + i * width, values, width, label=name)
        ax.set_xticks(np.arange(len(groups)) + width * (len(runs) - 1) / 2, groups)
        ax.set_ylim(0, 1)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_latency(runs: dict[str, dict], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, run in runs.items():
        ax.hist([r.latency_ms for r in run["rows"]], bins=30, histtype="step", linewidth=1.5, label=name)
    ax.set_xlabel("ms per question (Assistant.ask)")
    ax.set_ylabel("questions")
    ax.set_title("latency")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(rows: list[RowResult], path: Path, top: int = 12) -> None:
    """Rows: the services missed most; columns: what was returned instead."""
    plt = _pyplot()
    import numpy as np

    pairs = Counter()
    for r in rows:
        if r.should_refuse:
            if not r.declined:
                pairs[("(refuse)", r.routed[0] if r.routed else "(answer)")] += 1
        elif not r.hit(1):
            pairs[(r.expected[0], r.routed[0] if r.routed else "(refused)")] += 1
    fig, ax = plt.subplots(figsize=(9, 6))
    if not pairs:
        ax.text(0.5, 0.5, "no misses", ha="center", va="center")
        ax.axis("off")
    else:
        missed = [c for c, _ in _sum_by(pairs, 0).most_common(top)]
        got = [c for c, _ in _sum_by(pairs, 1).most_common(top)]
        grid = np.array([[pairs.get((e, g), 0) for g in got] for e in missed])
        ax.imshow(grid, cmap="Reds")
        ax.set_xticks(range(len(got)), got, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(missed)), missed, fontsize=8)
        for i in range(len(missed)):
            for j in range(len(got)):
                if grid[i, j]:
                    ax.text(j, i, str(grid[i, j]), ha="center", va="center", fontsize=8)
        ax.set_xlabel("returned instead")
        ax.set_ylabel("expected (first code)")
    ax.set_title("most-missed services")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _sum_by(pairs: Counter, index: int) -> Counter:
    out = Counter()
    for key, n in pairs.items():
        out[key[index]] += n
    return out
