"""Index the corpus: `python ingest.py [PATHS...] [--rebuild]` (default: the project's corpus/)."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from assistant.components import build_store
from assistant.ingestion import Ingestor
from assistant.settings import Settings
from assistant.store import IndexModelMismatch, StoreUnavailable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (corpus/, an act folder, ...)")
    parser.add_argument("--rebuild", action="store_true", help="drop the index and embed everything again")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")

    settings = Settings()
    paths = args.paths or settings.sources()
    try:
        report = Ingestor(settings, build_store(settings)).run(paths, rebuild=args.rebuild, progress=not args.quiet)
    except (IndexModelMismatch, StoreUnavailable, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path, reason in report.errors:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
