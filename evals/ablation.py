"""Each routing leg on and off, per language: `python -m evals ablation --dataset …`.

Every set of legs in evals/fit_calibration.py CONFIGS has its own fitted ranker and thresholds, so a
row measures what the evidence adds, not a mis-tuned threshold. Writes ablation.json and
ablation.md (the README's table) into --out.
"""
from __future__ import annotations

import json

from assistant.routing import legs_key
from assistant.service import Assistant
from evals.dataset import LANGS, load_questions
from evals.fit_calibration import CONFIGS
from evals.routing import evaluate, summarise
from evals.systems import default_sources, eval_settings, indexed_assistant, legs_variant

COLUMNS = ("top1", "ranked_top1", "answered_wrong", "clarified")


def main(args) -> int:
    questions = load_questions(args.dataset)
    if args.limit:
        questions = questions[: args.limit]
    settings = eval_settings(args.data_dir)
    ours = indexed_assistant(settings, args.sources or default_sources(settings), ingest=not args.no_ingest,
                             progress=not args.quiet)
    results = {}
    for legs in CONFIGS:
        assistant = ours if legs == CONFIGS[0] else Assistant(legs_variant(settings, list(legs)), store=ours.store)
        results[legs_key(legs)] = summarise(evaluate(assistant, questions, progress=not args.quiet,
                                                     desc=legs_key(legs)))
    lines = [f"Routing ablation on `{args.dataset}` ({len(questions)} questions): top-1 (answered and right) / "
             "ranked top-1 (the router's first candidate) / answered-but-wrong / clarified, per language.", "",
             "| legs | " + " | ".join(f"{lang} {c}" for lang in (*LANGS, "all") for c in ("top1", "rank", "wrong", "clar"))
             + " |", "|---|" + "---:|" * (4 * (len(LANGS) + 1))]
    for key, summary in results.items():
        cells = []
        for lang in (*LANGS, "all"):
            group = summary["overall"] if lang == "all" else summary["by_lang"].get(lang, {})
            cells += [_pct(group.get(c)) for c in COLUMNS]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "ablation.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
        (args.out / "ablation.md").write_text(table + "\n", encoding="utf-8")
    return 0


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}"
