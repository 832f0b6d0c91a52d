"""A save that another writer beat is refused in the application's words, on every store."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from uuid import uuid4

import pytest

from adapters.persistence import persistence_env
from application.errors import ConcurrentChange
from application.identity import IdentityStore
from application.ledger import Ledger
from domain.identity import ChallengeUse
from domain.money import Money
from domain.payment import Payment

pytestmark = pytest.mark.integration

ALICE = "a" * 64


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return persistence_env(database_url)


@pytest.fixture
def ledger(env: dict[str, str]) -> Iterator[Ledger]:
    app = Ledger(env=env)
    yield app
    app.close()


def test_a_stale_copy_of_an_aggregate_is_a_concurrent_change(ledger: Ledger) -> None:
    payment = Payment.initiate(uuid4(), ALICE, "stripe", "REF-1", Money.of("10.00", "USD"), Decimal(1))
    ledger.commit(payment)
    first, second = ledger.payment(payment.id), ledger.payment(payment.id)
    first.expire("stripe:REF-1:expired", {})
    ledger.commit(first)
    second.expire("stripe:REF-1:expired", {})
    with pytest.raises(ConcurrentChange):
        ledger.commit(second)
    assert ledger.payment(payment.id).version == first.version


def test_a_challenge_used_twice_is_a_concurrent_change(env: dict[str, str]) -> None:
    store = IdentityStore(env=env)
    store.record(ChallengeUse(nonce="n1", public_key=ALICE))
    with pytest.raises(ConcurrentChange):
        store.record(ChallengeUse(nonce="n1", public_key=ALICE))
    store.close()
