"""The writer's cache (ADR 45): a cached aggregate another writer changed is read again, never trusted, so
credits stay exactly once (that batched loads read what replays do: test_snapshots_on_stores.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from adapters.persistence import persistence_env
from application import writer as writer_module
from application.errors import ConcurrentChange
from application.gateway_events import GatewayEvents
from application.gateways import GatewayEvent, Outcome
from application.ledger import Ledger
from application.payments import PaymentService, TopUpOrder
from application.unit_of_work import UnitOfWork
from application.views import PaymentView
from application.writer import GROUP_ATTEMPTS, GroupWriter, Prepare
from domain.indexes import PaymentReference
from domain.money import Money
from domain.payment import Payment, PaymentStatus
from tests.snapshot_histories import UniqueIdentifiers
from tests.unit.fakes import FakeGateway

pytestmark = pytest.mark.integration

PRICE = "25.00"


def service(ledger: Ledger) -> PaymentService:
    return PaymentService(ledger, {"stripe": FakeGateway()}, {"USD": Decimal(1)}, UniqueIdentifiers())


def paid(view: PaymentView, key: str) -> GatewayEvent:
    return GatewayEvent("stripe", Outcome.PAID, view.reference, key, Money.of(PRICE, "USD"), {"n": key}, f"pi_{key}")


def balance(ledger: Ledger, user: str) -> Decimal:
    wallet = ledger.wallet_of(user)
    return Decimal(0) if wallet is None else wallet.balance


@pytest.mark.postgres
def test_two_writers_with_caches_credit_one_wallet_in_turn_exactly_once(postgres_url: str) -> None:
    """Each process's cached wallet is stale after the other's credit: read again by version, never conflicting
    for good, never crediting twice; a delivery to both processes credits once."""
    ledgers = [Ledger(env=persistence_env(postgres_url)) for _ in range(2)]
    try:
        services = [service(ledger) for ledger in ledgers]
        user = uuid4().hex * 2
        views = [services[0].initiate(user, TopUpOrder(PRICE, "USD", "stripe")).payment for _ in range(8)]
        outcomes = [services[n % 2].apply(paid(view, f"evt_{n}")) for n, view in enumerate(views)]
        again = [s.apply(paid(views[0], "evt_0")) for s in services]

        assert outcomes == ["confirmed"] * 8
        assert again == ["duplicate", "duplicate"]
        assert [balance(ledger, user) for ledger in ledgers] == [Decimal(PRICE) * 8] * 2
    finally:
        for ledger in ledgers:
            ledger.close()


@pytest.mark.postgres
def test_concurrent_credits_through_two_cached_writers_all_land_once(postgres_url: str) -> None:
    ledgers = [Ledger(env=persistence_env(postgres_url)) for _ in range(2)]
    try:
        services = [service(ledger) for ledger in ledgers]
        user = uuid4().hex * 2
        views = [services[0].initiate(user, TopUpOrder(PRICE, "USD", "stripe")).payment for _ in range(32)]
        outcomes: list[str] = []
        barrier = threading.Barrier(len(views))

        def deliver(n: int) -> None:
            barrier.wait(timeout=30)
            outcomes.append(services[n % 2].apply(paid(views[n], f"evt_{n}")))

        threads = [threading.Thread(target=deliver, args=(n,)) for n in range(len(views))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(outcomes) == ["confirmed"] * len(views)
        assert balance(ledgers[1], user) == Decimal(PRICE) * len(views)
    finally:
        for ledger in ledgers:
            ledger.close()


class Interfering:
    """Prepares each group as the writer does; the first group of several also has another process write one of
    its payments between the reads and the save."""

    def __init__(self, ledger: Ledger, other: Ledger, victim: Payment) -> None:
        self._events = GatewayEvents()
        self._other = other
        self._victim = victim.id
        self.started = threading.Event()
        self.release = threading.Event()
        self.interfered = False

    def __call__(self, work: UnitOfWork, events: Sequence[GatewayEvent]) -> None:
        self._events.preload(work, events)
        if len(events) == 1 and not self.started.is_set():  # the first group: hold it while the others queue
            self.started.set()
            self.release.wait(timeout=30)
        elif len(events) > 1 and not self.interfered:
            self.interfered = True
            payment = self._other.payment(self._victim)
            payment.ignore("seen by another process", "evt_elsewhere", {"by": "another process"})
            self._other.commit(payment)


@pytest.mark.postgres
def test_a_group_whose_save_conflicts_records_none_of_it_and_is_decided_again(postgres_url: str) -> None:
    ledger, other = Ledger(env=persistence_env(postgres_url)), Ledger(env=persistence_env(postgres_url))
    try:
        user = uuid4().hex * 2
        views = [service(ledger).initiate(user, TopUpOrder(PRICE, "USD", "stripe")).payment for _ in range(5)]
        victim = ledger.payment(views[2].payment_id)
        prepare = Interfering(ledger, other, victim)
        writer = GroupWriter(ledger, GatewayEvents().decide, prepare=prepare)
        first = writer.submit(paid(views[0], "evt_0"))
        assert prepare.started.wait(timeout=30)
        rest = [writer.submit(paid(view, f"evt_{n}")) for n, view in enumerate(views[1:], start=1)]
        head_before_group = ledger.recorder.max_notification_id()
        prepare.release.set()
        outcomes = [answer.result(timeout=30) for answer in (first, *rest)]
        writer.close()

        assert prepare.interfered
        assert outcomes == ["confirmed"] * 5  # none answered "duplicate" from a group that was not saved
        assert {ledger.payment(view.payment_id).status for view in views} == {PaymentStatus.CONFIRMED}
        assert ledger.payment(victim.id).has_handled("evt_elsewhere")
        assert balance(ledger, user) == Decimal(PRICE) * 5
        confirmations = [
            n.originator_id
            for n in ledger.recorder.select_notifications(start=head_before_group, limit=100, inclusive_of_start=False)
            if n.topic.endswith("PaymentConfirmed")
        ]
        assert sorted(confirmations) == sorted({*confirmations})  # each payment confirmed once: no partial group
    finally:
        ledger.close()
        other.close()


class AlwaysOvertaken:
    """Prepares each group as the writer does, then has another process write the group's first payment before
    the group's save, on every try but one made as the only writer; notes whether the events table's EXCLUSIVE
    lock was held while each try read."""

    def __init__(self, other: Ledger, server: str, table: str) -> None:
        self._events = GatewayEvents()
        self._other = other
        self._server = server
        self._table = table
        self.tries: list[bool] = []  # per try of a group naming payments: the table locked while it read

    def __call__(self, work: UnitOfWork, events: Sequence[GatewayEvent]) -> None:
        self._events.preload(work, events)
        claims = [PaymentReference.create_id(e.reference) for e in events if e.reference is not None]
        named = [claim.payment_id for claim in work.seen(PaymentReference, claims)]
        if not named:
            return
        locked = self._locked()
        self.tries.append(locked)
        if not locked:  # (under the lock, the other process's save would wait for this one)
            payment = self._other.payment(named[0])
            payment.ignore("seen by another process", f"evt_elsewhere_{len(self.tries)}", {"by": "another process"})
            self._other.commit(payment)

    def _locked(self) -> bool:
        with psycopg.connect(self._server, autocommit=True) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = %s AND l.mode = 'ExclusiveLock' AND l.granted",
                (self._table,),
            ).fetchone()
        return bool(row and row[0])


class FirstGroupHeld(GroupWriter):
    """A writer whose first group waits until `release`, so that the submissions behind it form one group."""

    def __init__(self, ledger: Ledger, prepare: Prepare) -> None:
        super().__init__(ledger, GatewayEvents().decide, prepare=prepare)
        self.release = threading.Event()

    def _write(self, events: list[Any], waited: float = 0.0) -> list[Any]:
        self.release.wait(30)
        return super()._write(events, waited)


@pytest.mark.postgres
def test_a_group_every_try_of_which_is_overtaken_is_saved_at_last_as_the_only_writer(postgres_url: str) -> None:
    ledger, other = Ledger(env=persistence_env(postgres_url)), Ledger(env=persistence_env(postgres_url))
    try:
        user = uuid4().hex * 2
        views = [service(ledger).initiate(user, TopUpOrder(PRICE, "USD", "stripe")).payment for _ in range(3)]
        overtaken = AlwaysOvertaken(other, postgres_url.split("?", 1)[0], "ledger_events")
        writer = FirstGroupHeld(ledger, overtaken)
        first = writer.submit(GatewayEvent("stripe", Outcome.IRRELEVANT, None, "evt_irrelevant"))
        answers = [writer.submit(paid(view, f"evt_{n}")) for n, view in enumerate(views)]
        writer.release.set()
        outcomes = [answer.result(timeout=30) for answer in answers]
        writer.close()

        assert first.result(timeout=30) == "ignored"
        assert overtaken.tries == [False] * GROUP_ATTEMPTS + [True]  # the last try read under the table lock
        assert outcomes == ["confirmed"] * 3
        assert {ledger.payment(view.payment_id).status for view in views} == {PaymentStatus.CONFIRMED}
        assert ledger.payment(views[0].payment_id).has_handled(f"evt_elsewhere_{GROUP_ATTEMPTS}")
        assert balance(ledger, user) == Decimal(PRICE) * 3
        assert ledger.written.position == ledger.recorder.max_notification_id()  # raised once it committed
    finally:
        ledger.close()
        other.close()


def credit(payments: PaymentService, view: PaymentView, amount: str) -> None:
    """Another process confirms the payment (its amount, not the module's PRICE)."""
    event = GatewayEvent("stripe", Outcome.PAID, view.reference, "evt_2", Money.of(amount, "USD"), {}, "pi_evt_2")
    assert payments.apply(event) == "confirmed"


class CommitCutOff(GroupWriter):
    """Tries each group first as the only writer and has PostgreSQL end that transaction's connection once the
    group is decided and appended, before its COMMIT; before the events are then applied one by one, another
    process credits the same wallet (to the very version the lost save had reached)."""

    def __init__(self, ledger: Ledger, server: str, meanwhile: Callable[[], None] | None) -> None:
        super().__init__(ledger, GatewayEvents().decide, prepare=GatewayEvents().preload)
        self._server = server
        self._meanwhile = meanwhile
        self.cut = 0

    def _write(self, events: list[Any], waited: float = 0.0) -> list[Any]:
        outcomes = super()._write(events, waited)
        recorder: Any = self._ledger.recorder
        held = getattr(recorder._held, "connection", None)  # the exclusive transaction's (the test reaches in)
        if held is not None and not self.cut:
            self.cut += 1
            with psycopg.connect(self._server, autocommit=True) as connection:
                connection.execute("SELECT pg_terminate_backend(%s)", (held.info.backend_pid,))
        return outcomes

    def apply_alone(self, event: Any, waited: float = 0.0) -> Any:
        if self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            meanwhile()
        return super().apply_alone(event, waited)


@pytest.mark.postgres
def test_a_group_whose_exclusive_commit_fails_leaves_nothing_trusted_in_the_cache(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "GROUP_ATTEMPTS", 0)  # the exclusive try comes first
    ledger, other = Ledger(env=persistence_env(postgres_url)), Ledger(env=persistence_env(postgres_url))
    try:
        user = uuid4().hex * 2
        first, second = (
            service(ledger).initiate(user, TopUpOrder(price, "USD", "stripe")).payment for price in ("25.00", "40.00")
        )
        writer = CommitCutOff(ledger, postgres_url.split("?", 1)[0], lambda: credit(service(other), second, "40.00"))

        assert writer.apply(paid(first, "evt_1")) == "confirmed"  # applied alone, after the cut-off commit
        writer.close()

        assert writer.cut == 1
        fresh = Ledger(env=persistence_env(postgres_url))
        try:
            assert balance(fresh, user) == Decimal("65.00")
            credited = [
                n
                for n in fresh.recorder.select_notifications(start=None, limit=1000)
                if n.topic.endswith("CreditsToppedUp")
            ]
            assert len(credited) == 2
        finally:
            fresh.close()
    finally:
        ledger.close()
        other.close()


@pytest.mark.postgres
def test_a_unit_of_works_reads_and_append_take_one_connection_from_the_pool(postgres_url: str) -> None:
    ledger = Ledger(env=persistence_env(postgres_url))
    try:
        views = [
            service(ledger).initiate(uuid4().hex * 2, TopUpOrder(PRICE, "USD", "stripe")).payment for _ in range(2)
        ]
        datastore = ledger.recorder.datastore  # type: ignore[attr-defined]
        checkouts: list[int] = []
        take = datastore.get_connection

        def counted() -> Any:
            checkouts.append(1)
            return take()

        datastore.get_connection = counted
        writer = GroupWriter(ledger, GatewayEvents().decide, prepare=GatewayEvents().preload)
        try:
            assert writer._write([paid(view, f"evt_{n}") for n, view in enumerate(views)]) == ["confirmed"] * 2
        finally:
            writer.close()
            datastore.get_connection = take
        # Claims, payments, wallets and the append on one connection; the wallets' first snapshot is not due yet.
        assert len(checkouts) == 1
        assert [balance(ledger, view.user_id) for view in views] == [Decimal(PRICE)] * 2
    finally:
        ledger.close()


@pytest.mark.postgres
def test_a_unit_of_work_whose_connection_is_lost_saves_on_a_fresh_one_exactly_once(postgres_url: str) -> None:
    """The server ends the backend after the reads: the append's retry takes another connection from the pool."""
    ledger = Ledger(env=persistence_env(postgres_url))
    try:
        payments = service(ledger)
        view = payments.initiate(uuid4().hex * 2, TopUpOrder(PRICE, "USD", "stripe")).payment
        events = GatewayEvents()

        def prepare_then_lose_the_connection(work: UnitOfWork, items: Sequence[Any]) -> None:
            events.preload(work, items)
            with ledger.recorder._connection() as held:  # type: ignore[attr-defined]
                backend = held.info.backend_pid
            with psycopg.connect(postgres_url.split("?")[0], autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (backend,))

        writer = GroupWriter(ledger, events.decide, prepare=prepare_then_lose_the_connection)
        try:
            assert writer._write([paid(view, "evt_lost")]) == ["confirmed"]
            assert writer.apply(paid(view, "evt_lost")) == "duplicate"
        finally:
            writer.close()
        assert balance(ledger, view.user_id) == Decimal(PRICE)
        assert ledger.payment(view.payment_id).status is PaymentStatus.CONFIRMED
    finally:
        ledger.close()


@pytest.mark.postgres
def test_a_conflict_on_a_units_connection_is_a_concurrent_change(postgres_url: str) -> None:
    """Another process saves the wallet between this unit of work's reads and its append: the library's conflict,
    not a driver error, so the writer decides again (and credits once)."""
    ledgers = [Ledger(env=persistence_env(postgres_url)) for _ in range(2)]
    try:
        user = uuid4().hex * 2
        first, second = (service(ledgers[0]).initiate(user, TopUpOrder(PRICE, "USD", "stripe")).payment for _ in "ab")
        assert service(ledgers[0]).apply(paid(first, "evt_first")) == "confirmed"  # the wallet exists
        events = GatewayEvents()
        raced: list[str] = []

        def prepare_then_race(work: UnitOfWork, items: Sequence[Any]) -> None:
            events.preload(work, items)
            if not raced:
                other = service(ledgers[1]).initiate(user, TopUpOrder(PRICE, "USD", "stripe")).payment
                raced.append(service(ledgers[1]).apply(paid(other, "evt_other")))

        writer = GroupWriter(ledgers[0], events.decide, prepare=prepare_then_race)
        try:
            with pytest.raises(ConcurrentChange):
                writer._write([paid(second, "evt_second")])
            assert writer.apply(paid(second, "evt_second")) == "confirmed"
        finally:
            writer.close()
        assert raced == ["confirmed"]
        assert balance(ledgers[0], user) == Decimal("75.00")
    finally:
        for ledger in ledgers:
            ledger.close()
