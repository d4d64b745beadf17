"""Audit of staff queries: who asked what (redacted), when, and which documents came back.

An append-only SQLite table (settings `audit_db`, default DATA_DIR/audit.sqlite): triggers refuse
UPDATE and DELETE, so a record once written stays as written, across restarts.

    python -m assistant.audit [--staff NAME] [--since 2026-01-31] [--limit 50] [--json]
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from assistant.pii import redact_text
from assistant.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_queries (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,           -- UTC, ISO 8601
    staff     TEXT NOT NULL,
    channel   TEXT NOT NULL,           -- api | ui | internal
    question  TEXT NOT NULL,           -- redacted
    lang      TEXT,
    label     TEXT,
    status    TEXT,
    doc_ids   TEXT NOT NULL            -- JSON list of the returned sources' doc ids
);
CREATE INDEX IF NOT EXISTS staff_queries_staff_at ON staff_queries (staff, at);
CREATE TRIGGER IF NOT EXISTS staff_queries_no_update BEFORE UPDATE ON staff_queries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS staff_queries_no_delete BEFORE DELETE ON staff_queries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


@dataclass
class AuditEntry:
    id: int
    at: str
    staff: str
    channel: str
    question: str
    lang: str | None
    label: str | None
    status: str | None
    doc_ids: list[str]


def audit_path(settings: Settings) -> Path:
    return settings.audit_db or settings.data_dir / "audit.sqlite"


class AuditLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> "AuditLog":
        return cls(audit_path(settings))

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        if not self._ready:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            self._ready = True
        return conn

    def record(self, staff: str, question: str, doc_ids: list[str], channel: str = "api", lang: str | None = None,
               label: str | None = None, status: str | None = None) -> int:
        """Appends one staff query; the question is redacted again here, whatever the caller did."""
        row = (datetime.now(timezone.utc).isoformat(timespec="milliseconds"), staff, channel, redact_text(question),
               lang, label, status, json.dumps(list(dict.fromkeys(doc_ids)), ensure_ascii=False))
        with self._lock:
            conn = self._connect()
            try:
                with conn:
                    cur = conn.execute("INSERT INTO staff_queries (at, staff, channel, question, lang, label, status, "
                                       "doc_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
                return int(cur.lastrowid)
            finally:
                conn.close()

    def entries(self, staff: str | None = None, since: str | None = None, limit: int | None = None) -> list[AuditEntry]:
        if not self.path.is_file():
            return []
        sql, params = "SELECT id, at, staff, channel, question, lang, label, status, doc_ids FROM staff_queries", []
        where = []
        if staff:
            where.append("staff = ?")
            params.append(staff)
        if since:
            where.append("at >= ?")
            params.append(since)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        conn = self._connect()
        try:
            rows = conn.execute(sql, params).fetchall()
        finally:
            conn.close()
        entries = [AuditEntry(*r[:8], json.loads(r[8])) for r in rows]
        return entries[-limit:] if limit else entries


def _since(value: str) -> str:
    """A date or a date-time (local ISO or with an offset), as the UTC text the table stores."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (use 2026-01-31 or 2026-01-31T09:00)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.audit", description="Print the audit of staff queries.")
    parser.add_argument("--staff", help="only this staff member")
    parser.add_argument("--since", type=_since, help="only from this date or date-time on (UTC unless an offset is given)")
    parser.add_argument("--limit", type=int, help="only the last N entries")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    log = AuditLog.from_settings(Settings())
    entries = log.entries(args.staff, args.since, args.limit)
    for e in entries:
        if args.json:
            print(json.dumps(asdict(e), ensure_ascii=False))
        else:
            print(f"{e.at}\t{e.staff}\t{e.channel}\t{e.status}\t{','.join(e.doc_ids) or '-'}\t{e.question}")
    if not entries and not args.json:
        print(f"no staff queries recorded in {log.path}" + (" for these filters" if args.staff or args.since else ""),
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
