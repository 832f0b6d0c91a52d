"""Sign-in rate limits, per public key and per client address: sliding one-minute windows held in this process."""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException, TooManyRequestsException
from litestar.openapi.datastructures import ResponseSpec

WINDOW_SECONDS = 60.0
KEYS_KEPT = 100_000  # beyond this many keys the least recently seen are forgotten: memory stays bounded
PUBLIC_KEY = re.compile(r"[0-9a-f]{64}")


class RateLimited(msgspec.Struct):
    type: str
    title: str
    status: int
    detail: str


RATE_LIMITED = {
    429: ResponseSpec(
        RateLimited,
        generate_examples=False,
        media_type="application/problem+json",
        description="Too many sign-in requests for this public key or from this address; `Retry-After` says how "
        "many seconds to wait (AUTH_RATE_LIMIT_PER_KEY, AUTH_RATE_LIMIT_PER_ADDRESS a minute).",
    )
}


class SlidingWindow:
    """At most `limit` hits per key in any `window` seconds (a limit of 0: no limit)."""

    def __init__(
        self,
        limit: int,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        keys_kept: int = KEYS_KEPT,
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._keys_kept = keys_kept
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()  # least recently hit first
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count a hit: None when it is allowed, else the seconds until one would be (refusals do not count)."""
        if self._limit <= 0:
            return None
        now = self._clock()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - self._window:
                hits.popleft()
            self._forget_idle(now)
            self._hits[key] = hits
            if len(hits) >= self._limit:
                return hits[0] + self._window - now
            hits.append(now)
            return None

    def _forget_idle(self, now: float) -> None:
        """Drop keys whose hits all left the window, and the least recent beyond `keys_kept`."""
        while self._hits:
            oldest_key, oldest = next(iter(self._hits.items()))
            idle = not oldest or oldest[-1] <= now - self._window
            if not idle and len(self._hits) < self._keys_kept:
                return
            del self._hits[oldest_key]


class SignInLimits:
    """`POST /api/auth/challenge` and `POST /api/auth/session` each: so many requests a minute per public key
    named in the body, and per client address."""

    def __init__(self, per_key: int, per_address: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_key = SlidingWindow(per_key, clock=clock)
        self._per_address = SlidingWindow(per_address, clock=clock)

    async def check(self, request: Request[Any, Any, Any]) -> None:
        """A `before_request` hook: refuses with 429 and Retry-After once a limit is reached."""
        endpoint = request.scope["path"]
        address = request.client.host if request.client else "unknown"
        _refuse_after(self._per_address.hit(f"{endpoint} {address}"), "from this address")
        public_key = await _public_key(request)
        if public_key is not None:
            _refuse_after(self._per_key.hit(f"{endpoint} {public_key}"), "for this public key")


async def _public_key(request: Request[Any, Any, Any]) -> str | None:
    """The body's well-formed public key; a body without one is refused by the handler anyway."""
    try:
        body = await request.json()
    except SerializationException:  # not JSON: the handler answers 400
        return None
    key = body.get("public_key") if isinstance(body, dict) else None
    return key if isinstance(key, str) and PUBLIC_KEY.fullmatch(key) else None


def _refuse_after(wait: float | None, scope: str) -> None:
    if wait is None:
        return
    seconds = max(1, math.ceil(wait))
    raise TooManyRequestsException(
        detail=f"too many sign-in requests {scope}: try again in {seconds} s", headers={"Retry-After": str(seconds)}
    )


async def limit_sign_in(request: Request[Any, Any, Any]) -> None:
    """The sign-in endpoints' `before_request` hook: the app's SignInLimits decide (before the body is parsed)."""
    limits: SignInLimits = request.app.state.sign_in_limits
    await limits.check(request)
