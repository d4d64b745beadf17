"""`python -m evals routing|retrieval|gate|fit|ablation ...`: the evaluation suite's command line.

Exit codes: 0 ok, 1 the gate failed, 2 bad input (a dataset or file that cannot be read).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
from pathlib import Path

from evals.dataset import DatasetError, load_questions
from evals.gate import THRESHOLDS, check, load_thresholds
from evals.routing import GROUPS, evaluate, extras, summarise
from evals.systems import EVAL_DATA_DIR, default_sources, eval_settings, systems

log = logging.getLogger("evals")


def _index_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=None,
                   help=f"index folder for the evaluation (default {EVAL_DATA_DIR}, never the app's)")
    p.add_argument("--source", type=Path, action="append", dest="sources",
                   help="folder or file to index (repeatable; default corpus/ + ../shared/data/regulations)")
    p.add_argument("--no-ingest", action="store_true", help="use the index as it is")
    p.add_argument("--limit", type=int, default=0, help="only the first N questions (a quick look)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _print_table(runs: dict[str, dict]) -> None:
    from evals.report import comparison_table

    print("\n".join(comparison_table(runs)))


def run_routing(args, thresholds_path: Path | None) -> int:
    try:
        questions = load_questions(args.dataset)
    except (DatasetError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.limit:
        questions = questions[: args.limit]
    thresholds = None
    if thresholds_path is not None:
        try:
            thresholds = load_thresholds(thresholds_path)
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    settings = eval_settings(args.data_dir)
    sources = args.sources or default_sources(settings)
    runs: dict[str, dict] = {}
    for name, assistant in systems(settings, sources, args.baselines, ingest=not args.no_ingest,
                                   progress=not args.quiet):
        rows = evaluate(assistant, questions, progress=not args.quiet, desc=name)
        runs[name] = {"rows": rows, "summary": summarise(rows), "extras": extras(rows)}
    _print_table(runs)
    ours = runs["ours"]
    print(f"faithfulness (ours): {ours['extras']['faithfulness']}; language detected: "
          f"{ours['extras']['language_detected']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(ours["summary"], ensure_ascii=False, indent=2), encoding="utf-8")
        for name, run in runs.items():
            if name != "ours":  # baselines beside it, same schema
                path = args.json.with_name(f"{args.json.stem}.{name}{args.json.suffix or '.json'}")
                path.write_text(json.dumps(run["summary"], ensure_ascii=False, indent=2), encoding="utf-8")
    failures = check(ours["summary"], thresholds) if thresholds else None
    if args.report:
        from evals.report import write_report

        print(f"report: {write_report(args.report, str(args.dataset), runs, failures)}")
    if failures is not None:
        return _gate_verdict(failures, _count(thresholds))
    return 0


def _gate_verdict(failures: list[str], checks: int) -> int:
    if failures:
        print("GATE FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
    print(f"gate: {checks - len(failures)} passed, {len(failures)} failed")  # one line CI logs can read
    return 1 if failures else 0


def _count(thresholds: dict) -> int:
    return len(thresholds.get("min") or {}) + len(thresholds.get("max") or {})


def cmd_routing(args) -> int:
    return run_routing(args, args.thresholds if args.gate else None)


def cmd_gate(args) -> int:
    try:
        thresholds = load_thresholds(args.thresholds)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.results:
        try:
            summary = json.loads(args.results.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            print(f"error: {args.results}: {exc}", file=sys.stderr)
            return 2
        if not isinstance(summary, dict) or not set(GROUPS) <= set(summary):
            print(f"error: {args.results}: not a routing result (needs {', '.join(GROUPS)})", file=sys.stderr)
            return 2
        return _gate_verdict(check(summary, thresholds), _count(thresholds))
    dataset = args.dataset or Path(thresholds.get("dataset", "evals/datasets/test.jsonl"))
    if not dataset.is_absolute():
        dataset = Path(__file__).resolve().parent.parent / dataset
    args.dataset, args.baselines = dataset, False
    return run_routing(args, args.thresholds)


def cmd_retrieval(args) -> int:
    from evals.retrieval import main as retrieval_main

    return retrieval_main(args)


def cmd_fit(args) -> int:
    from evals.fit_calibration import main as fit_main

    return fit_main(args)


def cmd_ablation(args) -> int:
    from evals.ablation import main as ablation_main

    return ablation_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("routing", help="routing / refusal / citations / latency on a JSONL dataset")
    p.add_argument("--dataset", type=Path, required=True, help="JSONL questions (evals/datasets/README.md)")
    p.add_argument("--json", type=Path, help="write overall/by_lang/by_kind here (baselines beside it)")
    p.add_argument("--report", type=Path, help="write report.md and PNG plots into this folder")
    p.add_argument("--baselines", action="store_true", help="also run lexical-only, dense-only and naive MiniLM")
    p.add_argument("--gate", action="store_true", help="exit 1 when a floor in the thresholds file is missed")
    p.add_argument("--thresholds", type=Path, default=THRESHOLDS, help="thresholds file (default evals/thresholds.yaml)")
    _index_options(p)
    p.set_defaults(func=cmd_routing)

    g = sub.add_parser("gate", help="CI gate: run the thresholds file's dataset (or read --results) and compare")
    g.add_argument("--thresholds", type=Path, default=THRESHOLDS)
    g.add_argument("--dataset", type=Path, help="default: the `dataset:` named in the thresholds file")
    g.add_argument("--results", type=Path, help="compare an existing `--json` result instead of running")
    g.add_argument("--json", type=Path)
    g.add_argument("--report", type=Path)
    _index_options(g)
    g.set_defaults(func=cmd_gate)

    r = sub.add_parser("retrieval", help="Recall/MRR/nDCG@k on a BEIR-format corpus, per retriever")
    r.add_argument("--corpus", type=Path, required=True, help="BEIR corpus.jsonl: {_id, title, text}")
    r.add_argument("--queries", type=Path, required=True, help="BEIR queries.jsonl: {_id, text}")
    r.add_argument("--qrels", type=Path, required=True, help="TSV with header query-id corpus-id score")
    r.add_argument("--k", default="6,10", help="cut-offs, comma-separated (default 6,10)")
    r.add_argument("--json", type=Path)
    r.add_argument("--data-dir", type=Path, help="index folder (default: a throw-away temporary folder)")
    r.add_argument("--embedding-cache", type=Path, help="vector cache to reuse (default: inside the index folder)")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=cmd_retrieval)

    f = sub.add_parser("fit", help="fit the routing calibration and thresholds on a dev dataset (never test)")
    f.add_argument("--dataset", type=Path, default=Path("evals/datasets/dev.jsonl"))
    f.add_argument("--write", action="store_true", help="write the fitted router into assistant/routing_model.json")
    _index_options(f)
    f.set_defaults(func=cmd_fit)

    a = sub.add_parser("ablation", help="each routing leg on/off per language (each with its own dev fit)")
    a.add_argument("--dataset", type=Path, required=True)
    a.add_argument("--out", type=Path, default=Path("evals/reports/ablation"), help="ablation.json/.md go here")
    _index_options(a)
    a.set_defaults(func=cmd_ablation)
    return parser


def missing_packages(args) -> list[str]:
    """What this command will import late (after an index may have taken an hour to build) and is not installed:
    the `[test]` extra carries them, the README's run install does not."""
    needed = {"retrieval": ["ranx"]}.get(args.command, [])
    if getattr(args, "report", None):
        needed.append("matplotlib")
    return [name for name in needed if importlib.util.find_spec(name) is None]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    missing = missing_packages(args)
    if missing:  # checked before any work starts
        print(f"error: `python -m evals {args.command}` needs {', '.join(missing)}: "
              f"pip install -e '.[test]'", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
    return args.func(args)
