"""Validate the eval datasets and print counts.

    python evals/datasets/validate.py            # validate, print counts
    python evals/datasets/validate.py --markdown # counts as Markdown tables (for README.md)

Checks: one JSON object per line; required keys and types; lang/kind/audience values;
ids unique across all files and shaped `<split>-<lang>-NNN`; every expected code exists in
the real catalogue CSV; expected_services empty exactly for out_of_scope/injection/staff_only;
followup rows carry a user/assistant history; no question repeated across splits (and
near-duplicates across splits are reported); minimum counts per file and per language.
Exit code 1 on any error.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
CATALOGUE = HERE.parents[2] / "shared" / "data" / "egov" / "egov_services_ru.csv"
SPLITS = ("dev", "test")
LANGS = ("kk", "ru", "en")
KINDS = ("routing", "fact", "out_of_scope", "out_of_catalogue", "injection", "staff_only", "followup")
EMPTY_KINDS = {"out_of_scope", "out_of_catalogue", "injection", "staff_only"}
MIN_PER_FILE = 160
MIN_PER_LANG_PER_FILE = 50


def catalogue_codes(path: Path = CATALOGUE) -> dict[str, str]:
    with path.open(encoding="utf-8") as f:
        return {row["link"].rstrip("/").split("/")[-1]: row["category"] for row in csv.DictReader(f)}


def norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def tokens(text: str) -> set[str]:
    return set(norm(text).split())


def load(split: str, codes: dict[str, str], errors: list[str]) -> list[dict]:
    rows = []
    path = HERE / f"{split}.jsonl"
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{n}"
        if not line.strip():
            errors.append(f"{where}: empty line")
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: invalid JSON ({exc})")
            continue
        if not isinstance(row, dict):
            errors.append(f"{where}: not an object")
            continue
        for key in ("id", "lang", "question", "expected_services"):
            if key not in row:
                errors.append(f"{where}: missing {key}")
        if not isinstance(row.get("question"), str) or not row.get("question", "").strip():
            errors.append(f"{where}: question must be a non-empty string")
        exp = row.get("expected_services")
        if not isinstance(exp, list) or not all(isinstance(c, str) for c in exp):
            errors.append(f"{where}: expected_services must be a list of strings")
            exp = []
        if len(exp) > 3:
            errors.append(f"{where}: more than 3 expected services")
        if len(set(exp)) != len(exp):
            errors.append(f"{where}: duplicate codes in expected_services")
        for code in exp:
            if code not in codes:
                errors.append(f"{where}: unknown service code {code!r}")
        lang = row.get("lang")
        if lang not in LANGS:
            errors.append(f"{where}: bad lang {lang!r}")
        if row.get("audience", "public") not in ("public", "staff"):
            errors.append(f"{where}: bad audience {row.get('audience')!r}")
        kind = row.get("kind", "routing" if exp else "out_of_scope")
        if kind not in KINDS:
            errors.append(f"{where}: bad kind {kind!r}")
        if (kind in EMPTY_KINDS) != (not exp):
            errors.append(f"{where}: kind {kind!r} does not match expected_services {exp}")
        hist = row.get("history")
        if kind == "followup":
            ok = (isinstance(hist, list) and hist
                  and all(isinstance(t, dict) and t.get("role") in ("user", "assistant")
                          and isinstance(t.get("content"), str) and t["content"].strip() for t in hist))
            if not ok:
                errors.append(f"{where}: followup needs a non-empty user/assistant history")
        elif hist is not None and not isinstance(hist, list):
            errors.append(f"{where}: history must be a list of turns")
        srcs = row.get("expected_sources")
        if srcs is not None and (not isinstance(srcs, list) or not all(isinstance(x, str) for x in srcs)):
            errors.append(f"{where}: expected_sources must be a list of document ids")
        rid = str(row.get("id", ""))
        if not re.fullmatch(rf"{split}-{lang}-\d{{3}}", rid):
            errors.append(f"{where}: id {rid!r} should be {split}-{lang}-NNN")
        row["kind"] = kind
        row["_where"] = where
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--markdown", action="store_true", help="print counts as Markdown tables")
    ap.add_argument("--near", type=float, default=0.75, help="token-Jaccard threshold for near duplicates across splits")
    args = ap.parse_args(argv)

    codes = catalogue_codes()
    errors: list[str] = []
    warnings: list[str] = []
    data = {s: load(s, codes, errors) for s in SPLITS}

    ids = Counter(r.get("id") for rows in data.values() for r in rows)
    errors += [f"duplicate id {i!r}" for i, n in ids.items() if n > 1]
    for split, rows in data.items():
        qs = Counter(norm(r["question"]) + "|" + json.dumps(r.get("history", []), ensure_ascii=False) for r in rows)
        errors += [f"{split}: duplicate question {q.split('|')[0]!r}" for q, n in qs.items() if n > 1]
    dev_q = {norm(r["question"]): r for r in data["dev"]}
    for r in data["test"]:
        if norm(r["question"]) in dev_q:
            errors.append(f"{r['_where']}: question also in dev ({dev_q[norm(r['question'])]['_where']})")
        t = tokens(r["question"])
        for d in data["dev"]:
            u = tokens(d["question"])
            if t and u and len(t & u) / len(t | u) >= args.near and norm(d["question"]) != norm(r["question"]):
                warnings.append(f"near duplicate across splits: {d['_where']} ~ {r['_where']}")

    for split, rows in data.items():
        if len(rows) < MIN_PER_FILE:
            errors.append(f"{split}: {len(rows)} rows < {MIN_PER_FILE}")
        per_lang = Counter(r["lang"] for r in rows)
        for lang in LANGS:
            if per_lang[lang] < MIN_PER_LANG_PER_FILE:
                errors.append(f"{split}: {per_lang[lang]} {lang} rows < {MIN_PER_LANG_PER_FILE}")

    # counts
    table = {s: Counter((r["lang"], r["kind"]) for r in rows) for s, rows in data.items()}
    cats = {s: Counter(codes[c] for r in rows for c in r["expected_services"][:1]) for s, rows in data.items()}
    services = {s: {c for r in rows for c in r["expected_services"]} for s, rows in data.items()}
    out = []
    for split in SPLITS:
        c = table[split]
        total = sum(c.values())
        if args.markdown:
            out.append(f"**{split}.jsonl** ({total} questions, {len(services[split])} distinct services, "
                       f"{len(cats[split])}/12 categories)\n")
            out.append("| lang | " + " | ".join(KINDS) + " | total |")
            out.append("|---|" + "---:|" * (len(KINDS) + 1))
            for lang in LANGS:
                out.append(f"| {lang} | " + " | ".join(str(c[(lang, k)]) for k in KINDS)
                           + f" | {sum(c[(lang, k)] for k in KINDS)} |")
            out.append("| **all** | " + " | ".join(str(sum(c[(l, k)] for l in LANGS)) for k in KINDS)
                       + f" | {total} |")
            out.append("| share | " + " | ".join(f"{100 * sum(c[(l, k)] for l in LANGS) / total:.0f}%" for k in KINDS)
                       + " | 100% |\n")
        else:
            out.append(f"{split}: {total} rows, {len(services[split])} distinct services, {len(cats[split])}/12 categories")
            for lang in LANGS:
                out.append(f"  {lang}: " + ", ".join(f"{k}={c[(lang, k)]}" for k in KINDS)
                           + f", total={sum(c[(lang, k)] for k in KINDS)}")
            out.append("  all: " + ", ".join(f"{k}={sum(c[(l, k)] for l in LANGS)}" for k in KINDS))
    if args.markdown:
        out.append("Questions per catalogue category (by first expected code):\n")
        out.append("| category | dev | test |")
        out.append("|---|---:|---:|")
        for cat in sorted(set(codes.values()), key=lambda k: -(cats["dev"][k] + cats["test"][k])):
            out.append(f"| {cat} | {cats['dev'][cat]} | {cats['test'][cat]} |")
        out.append("")
    both = services["dev"] & services["test"]
    out.append(f"services in both splits: {len(both)}; dev only: {len(services['dev'] - both)}; "
               f"test only: {len(services['test'] - both)}; catalogue: {len(codes)}")
    print("\n".join(out))
    for w in warnings:
        print("WARNING:", w, file=sys.stderr)
    for e in errors:
        print("ERROR:", e, file=sys.stderr)
    print("OK" if not errors else f"{len(errors)} error(s)", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
