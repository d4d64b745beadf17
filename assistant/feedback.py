"""Citizens' 👍/👎 on answers, with an optional comment: stored in SQLite, exported by a CLI.

    python -m assistant.feedback export [--format jsonl|csv] [--out FILE] [--db FILE ...]
    python -m assistant.feedback stats

Nothing personal is kept: question, answer and comment are PII-redacted before they are written.
The ids are content hashes, not sessions: the same question gets the same `question_id` on every
replica, and an answer's `answer_id` names that question's answer text, so no server keeps
per-user state and feedback from several replicas' files merges by id.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sqlite3
import sys
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from assistant.pii import redact_text
from assistant.settings import Settings

Rating = Literal["up", "down"]
COLUMNS = ("id", "created_at", "channel", "rating", "comment", "question_id", "answer_id", "lang", "question",
           "answer")


def question_id(question: str) -> str:
    """Same (redacted, whitespace-normalised) question → same id, on any replica."""
    return hashlib.sha256(" ".join(redact_text(question).split()).lower().encode()).hexdigest()[:16]


def answer_id(question: str, answer: str) -> str:
    return hashlib.sha256(f"{question_id(question)}\n{' '.join(answer.split())}".encode()).hexdigest()[:16]


def rating_of(liked) -> Rating | None:
    """Gradio's like payload (True/False or "Like"/"Dislike") as up/down; None when feedback was withdrawn."""
    if liked is True or liked == "Like":
        return "up"
    if liked is False or liked == "Dislike":
        return "down"
    return None


class FeedbackStore:
    """One SQLite file (WAL, so the UI's and the API's writes and an export can overlap)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS feedback (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, channel TEXT, "
            "rating TEXT NOT NULL CHECK (rating IN ('up', 'down')), comment TEXT, question_id TEXT NOT NULL, "
            "answer_id TEXT NOT NULL, lang TEXT, question TEXT, answer TEXT)")
        self._db.commit()
        self._lock = threading.Lock()
        self.listeners: list[Callable[[str], None]] = []  # called with the rating (metrics)

    def record(self, question: str, answer: str, rating: Rating, comment: str = "", lang: str | None = None,
               channel: str = "ui") -> dict:
        """Stores one rating; returns its id and the question and answer ids."""
        row = {"id": uuid.uuid4().hex, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "channel": channel, "rating": rating, "comment": redact_text(comment or "").strip(),
               "question_id": question_id(question), "answer_id": answer_id(question, answer), "lang": lang,
               "question": redact_text(question), "answer": redact_text(answer)}
        with self._lock:
            self._db.execute(f"INSERT INTO feedback ({','.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))})",
                             [row[c] for c in COLUMNS])
            self._db.commit()
        for listener in self.listeners:
            listener(rating)
        return {k: row[k] for k in ("id", "question_id", "answer_id")}

    def add_comment(self, feedback_id: str, comment: str) -> bool:
        with self._lock:
            cur = self._db.execute("UPDATE feedback SET comment = ? WHERE id = ?",
                                   (redact_text(comment or "").strip(), feedback_id))
            self._db.commit()
        return cur.rowcount == 1

    def rows(self) -> list[dict]:
        with self._lock:
            cur = self._db.execute(f"SELECT {','.join(COLUMNS)} FROM feedback ORDER BY created_at, id")
            return [dict(zip(COLUMNS, r)) for r in cur.fetchall()]


_stores: dict[Path, FeedbackStore] = {}
_stores_lock = threading.Lock()


def feedback_path(settings: Settings) -> Path:
    return settings.feedback_db or settings.data_dir / "feedback.sqlite"


def feedback_store(settings: Settings) -> FeedbackStore:
    """The process's one store per file: the API and the UI share it."""
    path = feedback_path(settings).resolve()
    with _stores_lock:
        if path not in _stores:
            _stores[path] = FeedbackStore(path)
        return _stores[path]


# --- HTTP ------------------------------------------------------------------------------------------------

class FeedbackIn(BaseModel):
    question: str = Field(..., min_length=1, max_length=2000)
    answer: str = Field(..., min_length=1, max_length=20000)
    rating: Rating
    comment: str = Field("", max_length=2000)
    lang: Literal["kk", "ru", "en"] | None = None


class FeedbackOut(BaseModel):
    id: str
    question_id: str
    answer_id: str


def feedback_router(store: FeedbackStore) -> APIRouter:
    router = APIRouter()

    @router.post("/api/feedback", response_model=FeedbackOut, status_code=201)
    def give_feedback(body: FeedbackIn) -> dict:
        """👍/👎 on an answer the API gave, with an optional comment (stored PII-redacted)."""
        return store.record(body.question, body.answer, body.rating, body.comment, body.lang, channel="api")

    return router


# --- CLI -------------------------------------------------------------------------------------------------

def merged_rows(paths: Iterable[Path]) -> list[dict]:
    """Rows of several replicas' files, each feedback once."""
    seen: dict[str, dict] = {}
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no feedback database")
        for row in FeedbackStore(Path(path)).rows():
            seen.setdefault(row["id"], row)
    return sorted(seen.values(), key=lambda r: (r["created_at"], r["id"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.feedback", description="Feedback on answers.")
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="every feedback row, as JSON Lines or CSV")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    stats = sub.add_parser("stats", help="counts of 👍 and 👎 per language")
    for p in (export, stats):
        p.add_argument("--db", type=Path, action="append",
                       help="feedback database (repeat to merge replicas; default: DATA_DIR/feedback.sqlite)")
    args = parser.parse_args(argv)
    try:
        rows = merged_rows(args.db or [feedback_path(Settings())])
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "stats":
        counts: dict[tuple[str, str], int] = {}
        for r in rows:
            counts[(r["lang"] or "?", r["rating"])] = counts.get((r["lang"] or "?", r["rating"]), 0) + 1
        for (lang, rating), n in sorted(counts.items()):
            print(f"{lang}\t{rating}\t{n}")
        print(f"total\t\t{len(rows)}")
        return 0
    out = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout
    try:
        if args.format == "csv":
            writer = csv.DictWriter(out, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        else:
            for r in rows:
                out.write(json.dumps(r, ensure_ascii=False) + "\n")
    finally:
        if args.out:
            out.close()
    if args.out:
        print(f"{len(rows)} feedback rows → {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
