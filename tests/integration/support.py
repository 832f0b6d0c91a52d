"""Helpers shared by the integration tests: a settable clock, keypair sign-in and ledger inspections."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from nacl.signing import SigningKey

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


@dataclass(frozen=True)
class SignedIn:
    """A keypair and the session token it signed in with."""

    key: SigningKey
    token: str

    @property
    def user_id(self) -> str:
        return self.key.verify_key.encode().hex()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def sign_in(client: httpx.Client, key: SigningKey | None = None) -> SignedIn:
    """Challenge, ed25519 signature of its UTF-8 bytes, session: as any client signs in."""
    key = key or SigningKey.generate()
    public_key = key.verify_key.encode().hex()
    challenge = client.post("/api/auth/challenge", json={"public_key": public_key}).json()["challenge"]
    signature = key.sign(challenge.encode()).signature.hex()
    body = {"public_key": public_key, "challenge": challenge, "signature": signature}
    answer = client.post("/api/auth/session", json=body)
    assert answer.status_code == 200, answer.text
    return SignedIn(key, answer.json()["token"])
