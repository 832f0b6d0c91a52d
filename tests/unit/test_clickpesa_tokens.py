"""The ClickPesa token cache: when tokens are renewed, and that threads share one fetch."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest

from adapters.clickpesa.tokens import ASSUMED_LIFETIME_SECONDS, TokenCache, expiry, renewal_time

pytestmark = pytest.mark.unit

NOW = 1_772_000_000.0


def bearer(exp: float | None, key: str = "clickpesa-signs-this") -> str:
    claims = {"sub": "client"} if exp is None else {"sub": "client", "exp": int(exp)}
    return "Bearer " + jwt.encode(claims, key, algorithm="HS256")


class Fetcher:
    def __init__(self, lifetime: float, clock: Clock) -> None:
        self.calls = 0
        self.lifetime = lifetime
        self.clock = clock

    def __call__(self) -> str:
        self.calls += 1
        return bearer(self.clock() + self.lifetime) + f"#{self.calls}"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def test_the_exp_claim_is_read_without_the_signing_key() -> None:
    assert expiry(bearer(NOW + 3600)) == NOW + 3600


@pytest.mark.parametrize("token", ["Bearer not-a-jwt", "", bearer(None)])
def test_a_token_without_a_readable_exp_has_no_expiry(token: str) -> None:
    assert expiry(token) is None


def test_an_hour_long_token_is_renewed_five_minutes_early() -> None:
    assert renewal_time(bearer(NOW + 3600), NOW) == NOW + 3600 - 300


def test_a_short_token_is_renewed_a_tenth_of_its_life_early() -> None:
    assert renewal_time(bearer(NOW + 60), NOW) == NOW + 54


@pytest.mark.parametrize("token", ["Bearer opaque", bearer(NOW - 10)], ids=["unreadable", "already-past"])
def test_without_a_usable_exp_the_documented_hour_is_assumed(token: str) -> None:
    assert renewal_time(token, NOW) == NOW + ASSUMED_LIFETIME_SECONDS - 300


def test_the_token_is_fetched_once_and_reused_until_renewal() -> None:
    clock = Clock()
    fetch = Fetcher(3600, clock)
    cache = TokenCache(fetch, clock)

    first = cache.get()
    clock.now += 3299
    assert cache.get() == first
    assert fetch.calls == 1

    clock.now += 2
    assert cache.get() != first
    assert fetch.calls == 2


def test_a_discarded_token_is_replaced_once_whoever_discards_it() -> None:
    clock = Clock()
    fetch = Fetcher(3600, clock)
    cache = TokenCache(fetch, clock)
    stale = cache.get()

    cache.discard(stale)
    fresh = cache.get()
    cache.discard(stale)  # a second thread that also saw the 401 on the old token

    assert cache.get() == fresh
    assert fetch.calls == 2


def test_concurrent_callers_wait_for_one_fetch() -> None:
    clock = Clock()
    calls: list[str] = []

    def slow_fetch() -> str:
        calls.append(threading.current_thread().name)
        time.sleep(0.2)
        return bearer(NOW + 3600)

    cache = TokenCache(slow_fetch, clock)
    with ThreadPoolExecutor(max_workers=10) as pool:
        tokens = set(pool.map(lambda _: cache.get(), range(10)))

    assert len(tokens) == 1
    assert len(calls) == 1


def test_a_failed_fetch_is_not_cached() -> None:
    clock = Clock()
    answers: list[str | Exception] = [RuntimeError("down"), bearer(NOW + 3600)]

    def fetch() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    cache = TokenCache(fetch, clock)
    with pytest.raises(RuntimeError):
        cache.get()
    assert cache.get().startswith("Bearer ")


def test_the_token_is_not_shown_in_its_repr() -> None:
    clock = Clock()
    cache = TokenCache(Fetcher(3600, clock), clock)
    token = cache.get()
    assert token.split("#")[0].removeprefix("Bearer ") not in repr(cache._token)
