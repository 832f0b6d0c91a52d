"""The writer's cache answers an aggregate only at the version the store says it has now."""

from __future__ import annotations

from uuid import uuid4

import pytest

from application.aggregate_cache import AggregateCache
from domain.money import Money
from domain.wallet import Wallet

pytestmark = pytest.mark.unit


def credited(times: int) -> Wallet:
    wallet = Wallet(user_id=uuid4().hex * 2)
    for _ in range(times):
        wallet.top_up(uuid4(), Money.of("1.00", "MC"), gateway="stripe")
    return wallet


def test_only_an_aggregate_at_the_stores_version_is_answered() -> None:
    cache = AggregateCache()
    current, stale = credited(2), credited(1)
    cache.keep([current, stale])

    found = cache.current({current.id: current.version, stale.id: stale.version + 1, uuid4(): 1})

    assert found == {current.id: current}


def test_a_dropped_aggregate_is_not_answered_again() -> None:
    cache = AggregateCache()
    wallet = credited(1)
    cache.keep([wallet])
    cache.drop([wallet.id])

    assert cache.current({wallet.id: wallet.version}) == {}


def test_the_least_recently_used_go_first() -> None:
    cache = AggregateCache(kept=2)
    first, second, third = credited(0), credited(0), credited(0)
    cache.keep([first, second])
    cache.current({first.id: first.version})  # used: kept over the second
    cache.keep([third])

    assert set(cache.current({w.id: w.version for w in (first, second, third)})) == {first.id, third.id}
