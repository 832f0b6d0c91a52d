"""The projector: the log folded into rows batch by batch, each batch with its position, resumable."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any
from uuid import UUID

import anyio
import pytest
from eventsourcing.persistence import IntegrityError

from application.gateways import GatewayEvent, Outcome
from application.ledger import Ledger
from application.payments import PaymentService, TopUpOrder
from application.projection import PaymentFolds, ProjectedBatch, Projector, project
from application.reading import Beacon
from application.views import PaymentView
from domain.money import Money
from tests.unit.fakes import FakeGateway, FakeIdentifiers

pytestmark = pytest.mark.unit

ALICE = "a" * 64


class FakeStore:
    """Batches kept in a list; refuses a batch that does not start where the last one ended, as the tracking
    row does."""

    def __init__(self) -> None:
        self.batches: list[ProjectedBatch] = []
        self.rebuilt: list[ProjectedBatch] | None = None
        self.applied_elsewhere: int | None = None

    def position(self) -> int:
        return self.batches[-1].end if self.batches else 0

    def apply(self, batch: ProjectedBatch) -> None:
        if self.applied_elsewhere is not None:
            self.batches.append(ProjectedBatch(self.position(), self.applied_elsewhere))
            self.applied_elsewhere = None
        if batch.after != self.position():
            raise IntegrityError(f"tracking is at {self.position()}, not {batch.after}")
        self.batches.append(batch)

    def rebuild(self, batches: Iterable[ProjectedBatch]) -> None:
        self.rebuilt = list(batches)

    def wait_for(self, position: int, timeout: float) -> bool:
        return self.position() >= position

    def close(self) -> None:
        pass


class Lease:
    def __init__(self, held: bool = True) -> None:
        self.held = held

    def acquire(self) -> bool:
        return self.held

    def release(self) -> None:
        self.held = False


def confirmed_payment(ledger: Ledger) -> PaymentView:
    service = PaymentService(ledger, {"stripe": FakeGateway()}, {"USD": Decimal(1)}, FakeIdentifiers())
    view = service.initiate(ALICE, TopUpOrder("25.00", "USD", "stripe")).payment
    paid = GatewayEvent("stripe", Outcome.PAID, view.reference, "k", Money.of("25.00", "USD"), {}, "pi_1")
    assert service.apply(paid) == "confirmed"
    return service.payment(view.payment_id)


def test_a_page_of_the_log_becomes_each_payments_latest_state_and_each_credit_movement(ledger: Ledger) -> None:
    payment = confirmed_payment(ledger)
    page = ledger.recorder.select_notifications(0, 100)

    batch = project(ledger, PaymentFolds(ledger), 0, page)

    assert (batch.after, batch.end) == (0, page[-1].id)
    assert [row.view for row in batch.payments] == [payment]
    assert [
        (w.user_id, m.entry.kind, m.entry.amount, m.entry.balance_after) for w in batch.wallets for m in batch.movements
    ] == [(ALICE, "top_up", Decimal("25.00"), Decimal("25.00"))]
    assert [balance.last for balance in batch.balances()] == list(batch.movements)


def test_a_payment_first_seen_mid_history_is_loaded_as_it_stood_before_the_page(ledger: Ledger) -> None:
    payment = confirmed_payment(ledger)
    page = ledger.recorder.select_notifications(0, 100)
    later = [n for n in page if n.originator_id == payment.payment_id][-1:]

    batch = project(ledger, PaymentFolds(ledger), later[0].id - 1, later)

    assert [row.view for row in batch.payments] == [payment]


def test_the_projector_applies_the_log_in_batches_and_then_has_nothing_left(ledger: Ledger) -> None:
    confirmed_payment(ledger)
    store = FakeStore()
    projector = Projector(ledger, store, Lease(), batch_size=3)
    head = ledger.recorder.max_notification_id()

    assert projector.run_once() == head
    assert [(batch.after, batch.end) for batch in store.batches][:2] == [(0, 3), (3, 6)]
    assert store.position() == head
    assert projector.run_once() == 0


def test_without_the_lease_nothing_is_projected(ledger: Ledger) -> None:
    confirmed_payment(ledger)
    store = FakeStore()

    assert Projector(ledger, store, Lease(held=False)).run_once() == 0
    assert store.batches == []


def test_batches_another_projector_applied_first_are_skipped_not_applied_twice(ledger: Ledger) -> None:
    confirmed_payment(ledger)
    store = FakeStore()
    store.applied_elsewhere = 4
    projector = Projector(ledger, store, Lease(), batch_size=3)

    projector.run_once()

    assert [(batch.after, batch.end) for batch in store.batches][:2] == [(0, 4), (4, 7)]
    assert store.position() == ledger.recorder.max_notification_id()


def test_a_rebuild_projects_the_whole_log_again_and_announces_it(ledger: Ledger) -> None:
    confirmed_payment(ledger)
    store = FakeStore()
    projector = Projector(ledger, store, Lease(), batch_size=4)
    announced: list[int] = []
    projector.on_projected(announced.append)

    events = projector.rebuild()

    assert store.rebuilt is not None and events == store.rebuilt[-1].end == ledger.recorder.max_notification_id()
    assert announced == [events]


def test_a_beacon_wakes_its_waiters_when_it_moves_and_lets_them_go_after_a_timeout() -> None:
    async def scenario() -> tuple[int, int, int]:
        beacon = Beacon()
        beacon.attach()
        timed_out = await beacon.wait_beyond(0, 0.01)
        async with anyio.create_task_group() as tasks:
            woken: list[int] = []

            async def wait() -> None:
                woken.append(await beacon.wait_beyond(0, 5))

            tasks.start_soon(wait)
            await anyio.sleep(0.01)
            threading.Thread(target=beacon.advance_threadsafe, args=(7,)).start()
        return timed_out, woken[0], await beacon.wait_beyond(3, 5)

    with ThreadPoolExecutor(1) as thread:  # a browser test's sync Playwright may keep a loop running here
        assert thread.submit(anyio.run, scenario).result() == (0, 7, 7)


class CountedLoads:
    """Aggregates' histories read from the store (every load here reads one: the store keeps no snapshots)."""

    def __init__(self, ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
        self.loads = 0
        select_events = ledger.recorder.select_events

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.loads += 1
            return select_events(*args, **kwargs)

        monkeypatch.setattr(ledger.recorder, "select_events", counted)


def projected_views(store: FakeStore) -> dict[UUID, PaymentView]:
    return {row.view.payment_id: row.view for batch in store.batches for row in batch.payments}


def test_payments_this_process_commits_are_projected_from_their_commits_without_loading(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = PaymentService(ledger, {"stripe": FakeGateway()}, {"USD": Decimal(1)}, FakeIdentifiers())
    pending = [service.initiate(ALICE, TopUpOrder("25.00", "USD", "stripe")).payment for _ in range(3)]
    store = FakeStore()
    Projector(ledger, store, Lease(held=True)).run_once()  # projected elsewhere (before a restart, say)
    projector = Projector(ledger, store, Lease())  # nothing folded: each payment's next event needs a load...
    projector.run_once()  # ...unless its commit hands it over, from now on, as this projector holds the lease
    for number, payment in enumerate(pending):
        paid = GatewayEvent("stripe", Outcome.PAID, payment.reference, f"k{number}", Money.of("25.00", "USD"))
        assert service.apply(paid) == "confirmed"
    counted = CountedLoads(ledger, monkeypatch)

    projector.run_once()

    assert counted.loads == 0
    confirmed = {payment.payment_id: service.payment(payment.payment_id) for payment in pending}
    assert {i: view for i, view in projected_views(store).items() if view.status == "confirmed"} == confirmed


def test_payments_committed_while_another_process_projects_are_loaded_as_before(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, lease = FakeStore(), Lease(held=False)
    projector = Projector(ledger, store, lease)
    projector.run_once()  # without the lease: no views are made
    payment = confirmed_payment(ledger)
    lease.held = True
    counted = CountedLoads(ledger, monkeypatch)

    projector.run_once()

    assert counted.loads == 0  # projected from the start: each event folds onto the one before
    assert projected_views(store) == {payment.payment_id: payment}
    later = [n for n in ledger.recorder.select_notifications(0, 100) if n.originator_id == payment.payment_id][-1:]
    assert [row.view for row in project(ledger, PaymentFolds(ledger), later[0].id - 1, later).payments] == [payment]
    assert counted.loads == 1  # a payment first seen mid-history, not handed over: loaded


def test_a_handed_over_payment_changed_while_no_views_were_made_is_loaded_once(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, lease = FakeStore(), Lease()
    projector = Projector(ledger, store, lease)
    projector.run_once()
    payment = confirmed_payment(ledger)
    projector.run_once()  # from the view its confirmation handed over: nothing kept to fold onto
    lease.held = False
    projector.run_once()  # another process projects now: no views are made
    service = PaymentService(ledger, {"stripe": FakeGateway()}, {"USD": Decimal(1)}, FakeIdentifiers())
    price = Money.of("25.00", "USD")
    refund = GatewayEvent(
        "stripe", Outcome.REFUNDED, None, "refund-1", price, gateway_object="pi_1", refunded=Money.of("10.00", "USD")
    )
    assert service.apply(refund) == "refunded"
    lease.held = True
    counted = CountedLoads(ledger, monkeypatch)

    projector.run_once()

    assert counted.loads == 1  # as it stood before the refund
    assert projected_views(store)[payment.payment_id] == service.payment(payment.payment_id)
    assert projected_views(store)[payment.payment_id] != payment
