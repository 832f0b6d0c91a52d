"""Helpers shared by the integration tests: a settable clock and ledger inspections."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from application.ledger import Ledger
from application.replay import ledger_events

SESSION_SECRET = "integration-tests-session-secret-0123456789abcdef"


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, by: timedelta) -> None:
        self._now += by


def event_counts(ledger: Ledger) -> Counter[str]:
    """How many events of each type the notification log holds."""
    return Counter(type(event).__name__ for _, event in ledger_events(ledger))


def last_position(ledger: Ledger) -> int:
    """The notification log's highest position (0 when empty)."""
    return ledger.recorder.max_notification_id() or 0
