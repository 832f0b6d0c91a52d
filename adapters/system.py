"""The real clock and identifier sources."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from uuid import UUID, uuid4

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on a bank slip


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class RandomIdentifiers:
    def payment_id(self) -> UUID:
        return uuid4()

    def reference(self) -> str:
        return "MC" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(12))
