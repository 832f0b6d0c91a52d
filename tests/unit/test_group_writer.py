"""Group commit: events decided together against one unit of work, saved in one transaction, answered after it."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from application.gateway_events import GatewayEvents
from application.gateways import GatewayEvent, Outcome
from application.ledger import Ledger
from application.payments import PaymentService, TopUpOrder
from application.unit_of_work import UnitOfWork
from application.views import PaymentView
from application.writer import Decide, GroupWriter
from domain.money import Money
from tests.following import wallet_of
from tests.unit.fakes import FakeGateway, FakeIdentifiers

pytestmark = pytest.mark.unit

ALICE = "a" * 64
PRICE = Money.of("10.00", "USD")


def service_on(ledger: Ledger) -> PaymentService:
    return PaymentService(ledger, {"stripe": FakeGateway()}, {"USD": Decimal(1)}, FakeIdentifiers())


def paid(payment: PaymentView, key: str | None = None) -> GatewayEvent:
    return GatewayEvent("stripe", Outcome.PAID, payment.reference, key or f"stripe:{payment.reference}:paid", PRICE)


def pending(service: PaymentService, count: int) -> list[PaymentView]:
    return [service.initiate(ALICE, TopUpOrder("10.00", "USD", "stripe")).payment for _ in range(count)]


class HeldWriter(GroupWriter):
    """A writer whose first group waits until `release`, so that every later submission queues behind it."""

    def __init__(self, ledger: Ledger, decide: Decide | None = None) -> None:
        super().__init__(ledger, decide or GatewayEvents().decide)
        self.release = threading.Event()

    def _write(self, events: list[GatewayEvent]) -> list[str]:
        self.release.wait(5)
        return super()._write(events)


def test_events_submitted_together_are_saved_in_one_transaction_and_see_each_other(ledger: Ledger) -> None:
    service = service_on(ledger)
    payments = pending(service, 3)
    writer = HeldWriter(ledger)
    first = writer.submit(paid(payments[0]))
    later = [writer.submit(paid(p)) for p in payments] + [writer.submit(paid(payments[1], key="stripe:other:paid"))]
    writer.release.set()
    assert first.result(5) == "confirmed"
    assert [answer.result(5) for answer in later] == ["duplicate", "confirmed", "confirmed", "held"]
    assert writer.groups_saved == 2  # the first alone, then the five queued behind it together
    assert wallet_of(ledger, ALICE).balance == Decimal("30.00")
    writer.close()


def test_a_lingering_group_takes_in_what_arrives_after_its_first_item(ledger: Ledger) -> None:
    """With a linger, events submitted one after another (each after the writer took the one before) still make
    one group; without one, the first is saved before the second arrives."""
    service = service_on(ledger)
    payments = pending(service, 4)
    for linger, groups in ((60.0, 1), (0.0, 2)):
        writer = GroupWriter(ledger, GatewayEvents().decide, linger=linger)
        taken = threading.Event()
        writer._queue = _Signalling(taken)
        start = 0 if linger else 2
        first = writer.submit(paid(payments[start]))
        assert taken.wait(5)  # the writer has taken the first: a group has begun
        if not linger:
            assert first.result(5) == "confirmed"
        second = writer.submit(paid(payments[start + 1]))
        writer.close()  # ends a linger (of a minute here) at once: the group is saved and answered
        assert [first.result(5), second.result(5)] == ["confirmed", "confirmed"]
        assert writer.groups_saved == groups
    assert wallet_of(ledger, ALICE).balance == Decimal("40.00")


def test_closing_a_lingering_writer_answers_what_it_holds(ledger: Ledger) -> None:
    service = service_on(ledger)
    (payment,) = pending(service, 1)
    writer = GroupWriter(ledger, GatewayEvents().decide, linger=60.0)
    answer = writer.submit(paid(payment))
    writer.close()  # well before the linger ends
    assert answer.result(5) == "confirmed"
    assert wallet_of(ledger, ALICE).balance == Decimal("10.00")


class _Signalling(queue.SimpleQueue[Any]):
    """The writer's queue, telling when the writer has taken an item from it."""

    def __init__(self, taken: threading.Event) -> None:
        self._taken = taken

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        item = super().get(block, timeout)
        self._taken.set()
        return item


def test_a_conflict_with_another_writer_mid_group_is_decided_again_from_fresh_reads(ledger: Ledger) -> None:
    service = service_on(ledger)
    racing, other = pending(service, 2)
    decide = GatewayEvents().decide
    raced = False

    def decide_while_another_process_writes(work: UnitOfWork, event: GatewayEvent) -> str:
        nonlocal raced
        outcome = decide(work, event)
        if not raced:  # after the group read the payment, another process confirms it first
            raced = True
            elsewhere = UnitOfWork(ledger)
            decide(elsewhere, event)
            elsewhere.save()
        return outcome

    writer = GroupWriter(ledger, decide_while_another_process_writes)
    assert writer.apply(paid(racing)) == "duplicate"  # decided again: the other process had confirmed it
    assert writer.apply(paid(other)) == "confirmed"
    wallet = ledger.wallet_of(ALICE)
    assert wallet is not None and wallet.balance == Decimal("20.00")
    writer.close()


def test_one_events_failure_does_not_decide_the_others(ledger: Ledger) -> None:
    service = service_on(ledger)
    (payment,) = pending(service, 1)
    decide = GatewayEvents().decide

    def fails_on_the_bad_one(work: UnitOfWork, event: GatewayEvent) -> str:
        if event.key == "bad":
            raise RuntimeError("the store broke for this one")
        return decide(work, event)

    writer = HeldWriter(ledger, fails_on_the_bad_one)
    blocker = writer.submit(GatewayEvent("stripe", Outcome.IRRELEVANT, None, "k"))
    good, bad = writer.submit(paid(payment)), writer.submit(paid(payment, key="bad"))
    writer.release.set()
    assert (blocker.result(5), good.result(5)) == ("ignored", "confirmed")
    with pytest.raises(RuntimeError):
        bad.result(5)
    writer.close()


def test_sixty_four_concurrent_credits_to_one_wallet_all_land(ledger: Ledger) -> None:
    service = service_on(ledger)
    payments = pending(service, 64)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda p: service.apply(paid(p)), payments))
    assert answers == ["confirmed"] * 64
    assert wallet_of(ledger, ALICE).balance == Decimal("640.00")
    service.close()


def test_a_caller_that_went_away_does_not_keep_the_others_of_its_group_from_their_answers(ledger: Ledger) -> None:
    service = service_on(ledger)
    first, second = pending(service, 2)
    writer = HeldWriter(ledger)
    blocker = writer.submit(GatewayEvent("stripe", Outcome.IRRELEVANT, None, "k"))
    gone, waiting = writer.submit(paid(first)), writer.submit(paid(second))
    assert gone.cancel()  # its connection closed while the group was being decided
    writer.release.set()
    assert (blocker.result(5), waiting.result(5)) == ("ignored", "confirmed")
    assert writer.apply(paid(first)) == "duplicate"  # the one who went away was saved all the same
    writer.close()
