"""`Ledger.as_at` on SQLite and PostgreSQL: every aggregate, at every version asked of it, is what the library's
load of that version is (on PostgreSQL it is built from whole histories read in one query, not from snapshots);
an id without events is left out of the answer."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings

from adapters.persistence import persistence_env
from domain.indexes import PaymentReference
from domain.wallet import Wallet
from tests.snapshot_histories import HISTORIES, History, OftenSnapshotted, Step, replayed, state

pytestmark = pytest.mark.integration


@pytest.fixture
def ledger(store_url: str) -> Iterator[OftenSnapshotted]:
    built = OftenSnapshotted(env=persistence_env(store_url))
    yield built
    built.close()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=HISTORIES)
def test_every_aggregate_as_at_each_version_is_what_a_load_of_that_version_is(
    ledger: OftenSnapshotted, steps: list[Step]
) -> None:
    history = History(ledger)  # fresh ids: the examples share the store
    history.play(steps)
    claims = [PaymentReference.create_id(card.reference) for card in history.cards]
    ids = [*history.aggregate_ids(), *claims]
    heads = {i: events[0].originator_version for i in ids if (events := list(ledger.events.get(i, desc=True, limit=1)))}

    # Each round asks every aggregate for another version, so that one answer mixes versions: over the rounds
    # each aggregate is asked for every one of its versions, 1 and its last among them.
    asked: dict[object, set[int]] = {i: set() for i in heads}
    for round_ in range(max(heads.values())):
        versions = {i: 1 + (round_ + n) % head for n, (i, head) in enumerate(heads.items())}
        found = ledger.as_at(versions)

        assert sorted(found) == sorted(versions)
        for i, version in versions.items():
            asked[i].add(version)
            assert found[i].version == version, (i, version)
            assert state(found[i]) == state(ledger.repository.get(i, version=version)), (i, version)
            assert state(found[i]) == state(replayed(ledger, i, version)), (i, version)
    assert all(asked[i] == set(range(1, head + 1)) for i, head in heads.items())


def test_aggregates_as_at_versions_past_snapshots_match_loads_through_them(ledger: OftenSnapshotted) -> None:
    history = History(ledger)
    history.play([Step("paid", 0, 1), Step("paid", 1, 1), Step("refund", 0, 100), Step("refund", 0, 300)])
    history.play([Step("dispute", 0, 1), Step("win", 0, 1), Step("paid", 2, 1), Step("refund", 1, 2500)])
    wallet = Wallet.create_id(history.users[0])
    payment = history.cards[0].payment_id
    assert ledger.snapshots is not None
    assert [s.originator_version for s in ledger.snapshots.get(wallet)] == [3, 6]
    assert [s.originator_version for s in ledger.snapshots.get(payment)] == [2, 4, 6]

    for versions in ({wallet: 7, payment: 6}, {wallet: 5, payment: 5}, {wallet: 1, payment: 1}):
        found = ledger.as_at(versions)
        assert {i: state(aggregate) for i, aggregate in found.items()} == {
            i: state(ledger.repository.get(i, version=version)) for i, version in versions.items()
        }


def test_an_id_without_events_is_left_out_of_the_answer(ledger: OftenSnapshotted) -> None:
    history = History(ledger)
    history.play([Step("paid", 0, 1)])
    payment = history.cards[0].payment_id
    never_opened = Wallet.create_id(history.users[1])  # the second user was never credited: no wallet

    found = ledger.as_at({payment: 2, uuid4(): 1, never_opened: 1})

    assert list(found) == [payment]
    assert state(found[payment]) == state(ledger.repository.get(payment, version=2))
