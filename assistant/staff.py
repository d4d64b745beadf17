"""Civil-servant tokens: issued, revoked and checked; only their SHA-256 digests are stored.

    python -m assistant.staff add NAME      # prints the new token on its last line (shown once)
    python -m assistant.staff revoke NAME
    python -m assistant.staff list

The file (settings `staff_tokens_file`, default DATA_DIR/staff_tokens.json) is the operator's: a token
is 256 random bits, so a plain SHA-256 is as strong as a salted slow hash and is looked up in O(1).
The server re-reads the file when it changes, so a revocation applies to the next request.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from assistant.settings import Settings

TOKEN_PREFIX = "qea_"
_NAME = re.compile(r"^[\w.@-]{1,64}$")


class StaffError(ValueError):
    """A request the registry refuses (unknown name, duplicate, bad name)."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def tokens_path(settings: Settings) -> Path:
    return settings.staff_tokens_file or settings.data_dir / "staff_tokens.json"


@dataclass(frozen=True)
class StaffMember:
    name: str
    created: str
    revoked: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class StaffRegistry:
    """The token file: `add`, `revoke`, `members` for the CLI; `verify` for the API and the UI."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._by_digest: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> "StaffRegistry":
        return cls(tokens_path(settings))

    # --- the file --------------------------------------------------------------------

    def _read(self) -> dict:
        if not self.path.is_file():
            return {"version": 1, "staff": {}}
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("staff"), dict):
            raise StaffError(f"{self.path} is not a staff token file")
        return data

    def _write(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def _edit(self):
        """Read-modify-write under an exclusive lock, so two operators never lose each other's change."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read()
            yield data
            self._write(data)

    # --- operator actions ------------------------------------------------------------

    def add(self, name: str) -> str:
        """A new token for `name` (returned once, never stored in the clear)."""
        if not _NAME.match(name or ""):
            raise StaffError("a staff name is 1-64 letters, digits, '.', '_', '@' or '-'")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._edit() as data:
            current = data["staff"].get(name)
            if current and not current.get("revoked"):
                raise StaffError(f"{name} already has an active token; revoke it first")
            data["staff"][name] = {"sha256": digest(token), "created": _now(), "revoked": None}
        return token

    def revoke(self, name: str) -> None:
        with self._edit() as data:
            current = data["staff"].get(name)
            if current is None:
                raise StaffError(f"no staff member named {name!r}")
            if not current.get("revoked"):
                current["revoked"] = _now()

    def members(self) -> list[StaffMember]:
        return [StaffMember(n, e.get("created", ""), e.get("revoked")) for n, e in sorted(self._read()["staff"].items())]

    # --- checking a token ------------------------------------------------------------

    def _active_digests(self) -> dict[str, str]:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            return {}
        with self._lock:
            if stamp != self._stamp:
                staff = self._read()["staff"]
                self._by_digest = {e["sha256"]: n for n, e in staff.items() if not e.get("revoked") and e.get("sha256")}
                self._stamp = stamp
            return self._by_digest

    def verify(self, token: str | None) -> str | None:
        """The staff member's name for an active token, else None."""
        if not token or len(token) > 512:
            return None
        wanted = digest(token.strip())
        for known, name in self._active_digests().items():
            if hmac.compare_digest(known, wanted):
                return name
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.staff", description="Manage civil-servant tokens.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("add", help="issue a token (printed once, on the last line)").add_argument("name")
    sub.add_parser("revoke", help="revoke a staff member's token").add_argument("name")
    sub.add_parser("list", help="staff members and whether their token is active")
    args = parser.parse_args(argv)
    registry = StaffRegistry.from_settings(Settings())
    try:
        if args.command == "add":
            token = registry.add(args.name)
            print(f"Token for {args.name} (stored hashed in {registry.path}; it is shown only now):")
            print(token)
        elif args.command == "revoke":
            registry.revoke(args.name)
            print(f"revoked {args.name}")
        else:
            members = registry.members()
            for m in members:
                print(f"{m.name}\t{'active' if m.active else 'revoked ' + m.revoked}\tcreated {m.created}")
            if not members:
                print(f"no staff tokens in {registry.path}")
    except StaffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
