"""The demo session secret when SESSION_SECRET is not set: random, never derived from settings.

Beside an SQLite file it is made once and kept in a file of its own (mode 0600), so that sessions, the demo
webhook secrets and the demo ledger key survive a restart on that file; without a file (`memory:`) each
process makes its own.
"""

from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path

SUFFIX = ".session-secret"
SHORTEST = 32


class SessionSecretUnreadable(ValueError):
    """The kept secret's file exists but holds no usable secret."""


def kept_session_secret(sqlite_file: str | None) -> str:
    """The secret kept beside `sqlite_file` (made the first time), or this process's own without a file."""
    if sqlite_file is None:
        return _process_secret()
    return secret_beside(Path(sqlite_file + SUFFIX))


@functools.cache
def _process_secret() -> str:
    return secrets.token_hex(32)


def secret_beside(path: Path) -> str:
    """The secret in `path`; made there first if the file does not exist (processes starting together agree)."""
    if not path.exists():
        _make(path)
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < SHORTEST:
        raise SessionSecretUnreadable(f"{path} holds no session secret: delete it to make a new one")
    return secret


def _make(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{secrets.token_hex(8)}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secrets.token_hex(32) + "\n")
    try:
        os.link(partial, path)  # all at once, and never over a secret another process has just made
    except FileExistsError:
        pass
    finally:
        partial.unlink()
