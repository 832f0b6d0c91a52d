"""ClickPesa access tokens: fetched once, shared by every thread, renewed shortly before they expire.

Before approval an account may make 100 API calls a day, token generation included, so a token
is never fetched per request: it lives until a few minutes before its JWT `exp`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt

RENEW_EARLY_SECONDS = 300.0  # ClickPesa tokens live an hour; renew five minutes before
ASSUMED_LIFETIME_SECONDS = 3600.0  # for a token whose `exp` cannot be read


@dataclass(frozen=True)
class Token:
    value: str  # "Bearer <jwt>", sent as Authorization unchanged
    renew_at: float  # seconds since the epoch

    def __repr__(self) -> str:
        return f"Token(<hidden>, renew_at={self.renew_at})"


class TokenCache:
    """One token for all threads; one fetch at a time when it must be renewed."""

    def __init__(self, fetch: Callable[[], str], clock: Callable[[], float] = time.time) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Token | None = None

    def get(self) -> str:
        token = self._token
        if token is not None and self._clock() < token.renew_at:
            return token.value
        with self._lock:
            token = self._token
            if token is None or self._clock() >= token.renew_at:
                token = self._renew()
            return token.value

    def discard(self, value: str) -> None:
        """The gateway refused `value`: the next `get` fetches a new token (once, for all threads)."""
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None

    def _renew(self) -> Token:
        fetched_at = self._clock()
        value = self._fetch()
        self._token = Token(value, renewal_time(value, fetched_at))
        return self._token


def renewal_time(value: str, fetched_at: float) -> float:
    """When to renew: a few minutes before `exp` (a tenth of the lifetime for short-lived tokens)."""
    expires = expiry(value)
    if expires is None or expires <= fetched_at:
        # Unreadable, or our clock is ahead of ClickPesa's: trust the documented hour; a 401 renews anyway.
        expires = fetched_at + ASSUMED_LIFETIME_SECONDS
    return expires - min(RENEW_EARLY_SECONDS, (expires - fetched_at) / 10)


def expiry(value: str) -> float | None:
    """The JWT's `exp`, read without verifying: the token is ClickPesa's to check, not ours."""
    raw = value.removeprefix("Bearer ").strip()
    try:
        claims = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    return float(exp)
