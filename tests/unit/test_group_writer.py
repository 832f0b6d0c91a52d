"""Group commit: events decided together against one unit of work, saved in one transaction, answered after it."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, cast

import pytest

from application.errors import StoreUnavailable
from application.gateway_events import GatewayEvents
from application.gateways import GatewayEvent, Outcome
from application.ledger import Ledger
from application.payments import PaymentService, TopUpOrder
from application.unit_of_work import UnitOfWork
from application.views import PaymentView
from application.writer import Decide, GroupWriter
from domain.money import Money
from tests.following import wallet_of
from tests.unit.fakes import FakeGateway, FakeIdentifiers, RecordedMetrics

pytestmark = pytest.mark.unit

ALICE = "a" * 64
Seconds = tuple[float, float, float, float]
PRICE = Money.of("10.00", "USD")


def service_on(ledger: Ledger) -> PaymentService:
    return PaymentService(ledger, {"stripe": FakeGateway()}, {"USD": Decimal(1)}, FakeIdentifiers())


def paid(payment: PaymentView, key: str | None = None) -> GatewayEvent:
    return GatewayEvent("stripe", Outcome.PAID, payment.reference, key or f"stripe:{payment.reference}:paid", PRICE)


def pending(service: PaymentService, count: int) -> list[PaymentView]:
    return [service.initiate(ALICE, TopUpOrder("10.00", "USD", "stripe")).payment for _ in range(count)]


def failing_on(key: str) -> Decide:
    """The gateway events' decision, failing on the event of `key`."""
    decide = GatewayEvents().decide

    def fails_on_the_bad_one(work: UnitOfWork, event: GatewayEvent) -> str:
        if event.key == key:
            raise RuntimeError("the store broke for this one")
        return decide(work, event)

    return fails_on_the_bad_one


class HeldWriter(GroupWriter):
    """A writer whose first group waits until `release`, so that every later submission queues behind it."""

    def __init__(self, ledger: Ledger, decide: Decide | None = None, metrics: RecordedMetrics | None = None) -> None:
        super().__init__(ledger, decide or GatewayEvents().decide, prepare=GatewayEvents().preload, metrics=metrics)
        self.release = threading.Event()

    def _write(self, events: list[GatewayEvent], waited: float = 0.0) -> list[str]:
        self.release.wait(5)
        return super()._write(events, waited)


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


def test_the_writer_counts_its_groups_and_where_their_aggregates_came_from(ledger: Ledger) -> None:
    service = service_on(ledger)
    payments = pending(service, 3)
    metrics = RecordedMetrics()
    writer = HeldWriter(ledger, metrics=metrics)
    first = writer.submit(paid(payments[0]))
    later = [writer.submit(paid(p)) for p in payments]
    writer.release.set()
    assert [first.result(5)] + [answer.result(5) for answer in later] == ["confirmed", "duplicate"] + ["confirmed"] * 2
    writer.close()
    assert [call for call in metrics.writer_calls if call[0] == "writer_group"] == [
        ("writer_group", (1, "committed", 0)),
        ("writer_group", (3, "committed", 0)),
    ]
    reads = [arguments for name, arguments in metrics.writer_calls if name == "writer_reads"]
    # (from the cache, from the store): first the reference and the payment, the wallet not opened yet; then the
    # first payment, its reference and the wallet as the first group left them, and the others' references and
    # payments
    assert reads == [(0, 2), (3, 4)]


def test_the_writer_times_each_committed_groups_wait_and_phases(ledger: Ledger) -> None:
    """The group behind a held one: its first change waited at least as long as the hold."""
    payments = pending(service_on(ledger), 3)
    metrics = RecordedMetrics()
    writer = HeldWriter(ledger, metrics=metrics)
    first = writer.submit(paid(payments[0]))
    later = [writer.submit(paid(p)) for p in payments[1:]]
    time.sleep(0.05)
    writer.release.set()
    assert [first.result(5)] + [answer.result(5) for answer in later] == ["confirmed"] * 3
    writer.close()

    times = [cast(Seconds, arguments) for name, arguments in metrics.writer_calls if name == "writer_times"]
    assert len(times) == 2  # one a committed group
    assert all(isinstance(seconds, float) and seconds >= 0 for group in times for seconds in group)
    waited, read, decided, saved = times[1]
    assert waited >= 0.05
    assert read > 0 and decided > 0 and saved > 0


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

    metrics = RecordedMetrics()
    writer = GroupWriter(ledger, decide_while_another_process_writes, metrics=metrics)
    assert writer.apply(paid(racing)) == "duplicate"  # decided again: the other process had confirmed it
    assert writer.apply(paid(other)) == "confirmed"
    wallet = ledger.wallet_of(ALICE)
    assert wallet is not None and wallet.balance == Decimal("20.00")
    writer.close()
    groups = [arguments for name, arguments in metrics.writer_calls if name == "writer_group"]
    assert groups == [(1, "committed", 1), (1, "committed", 0)]  # the conflict counted once, on the group it dropped
    assert [name for name, _ in metrics.writer_calls].count("writer_times") == 2  # the tries that committed


def test_a_store_lost_before_a_group_began_leaves_the_next_groups_their_cache(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No connection to be had: the group fails before deciding anything, and the writer is not left thinking it is
    inside a decision (which would take every later group's unit of work off the cache)."""
    payments = pending(service_on(ledger), 2)
    metrics = RecordedMetrics()
    writer = GroupWriter(ledger, GatewayEvents().decide, prepare=GatewayEvents().preload, metrics=metrics)
    assert writer.apply(paid(payments[0])) == "confirmed"
    connect = ledger.on_one_connection

    @contextmanager
    def lost() -> Iterator[None]:
        raise StoreUnavailable("the store cannot be reached right now")
        yield

    monkeypatch.setattr(ledger, "on_one_connection", lost)
    with pytest.raises(StoreUnavailable):
        writer.apply(paid(payments[1]))
    monkeypatch.setattr(ledger, "on_one_connection", connect)

    assert writer.apply(paid(payments[1])) == "confirmed"
    writer.close()
    reads = [arguments for name, arguments in metrics.writer_calls if name == "writer_reads"]
    assert cast(int, reads[-1][0]) >= 1  # the wallet the first group saved, from the cache


class FailingTimes(RecordedMetrics):
    def writer_times(self, waited: float, read: float, decided: float, saved: float) -> None:
        raise RuntimeError("the metrics broke")


def test_a_committed_group_whose_metrics_fail_stands(ledger: Ledger) -> None:
    payments = pending(service_on(ledger), 2)
    metrics = FailingTimes()
    writer = HeldWriter(ledger, metrics=metrics)
    answers = [writer.submit(paid(p)) for p in payments]
    writer.release.set()

    assert [answer.result(5) for answer in answers] == ["confirmed", "confirmed"]
    writer.close()
    groups = [arguments for name, arguments in metrics.writer_calls if name == "writer_group"]
    assert groups[-1][1] == "committed"  # not applied again one at a time


def test_one_events_failure_does_not_decide_the_others(ledger: Ledger) -> None:
    service = service_on(ledger)
    (payment,) = pending(service, 1)
    metrics = RecordedMetrics()
    writer = HeldWriter(ledger, failing_on("bad"), metrics)
    blocker = writer.submit(GatewayEvent("stripe", Outcome.IRRELEVANT, None, "k"))
    good, bad = writer.submit(paid(payment)), writer.submit(paid(payment, key="bad"))
    writer.release.set()
    assert (blocker.result(5), good.result(5)) == ("ignored", "confirmed")
    with pytest.raises(RuntimeError):
        bad.result(5)
    writer.close()
    groups = [arguments for name, arguments in metrics.writer_calls if name == "writer_group"]
    assert groups == [(1, "committed", 0), (2, "one_at_a_time", 0)]


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


class CountingLoop:
    """The calls a writer makes onto an event loop from its thread, counted."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.calls = 0
        self._call_soon_threadsafe = loop.call_soon_threadsafe

    def __call__(self, callback: Any, *args: Any) -> Any:
        self.calls += 1
        return self._call_soon_threadsafe(callback, *args)


def test_callers_on_an_event_loop_get_a_groups_answers_in_one_call(ledger: Ledger) -> None:
    service = service_on(ledger)
    payments = pending(service, 3)
    writer = HeldWriter(ledger, failing_on("bad"))

    async def deliver() -> tuple[list[Any], int]:
        loop = asyncio.get_running_loop()
        counted = CountingLoop(loop)
        loop.call_soon_threadsafe = counted  # type: ignore[method-assign,assignment]
        blocker = writer.submitted(GatewayEvent("stripe", Outcome.IRRELEVANT, None, "k"))
        await asyncio.sleep(0.05)  # the writer holds the first group: the rest queue behind it
        queued = [writer.submitted(paid(p)) for p in payments] + [writer.submitted(paid(payments[0], key="bad"))]
        writer.release.set()
        answers = await asyncio.gather(blocker, *queued, return_exceptions=True)
        return answers, counted.calls

    answers, calls = asyncio.run(deliver())
    assert answers[:4] == ["ignored", "confirmed", "confirmed", "confirmed"]
    assert isinstance(answers[4], RuntimeError)  # the bad one's error, raised where it is awaited
    assert calls == 2  # the first group's answer, then the four queued behind it in one call
    assert wallet_of(ledger, ALICE).balance == Decimal("30.00")
    writer.close()


def test_a_caller_on_a_loop_that_went_away_leaves_the_others_their_answers(ledger: Ledger) -> None:
    service = service_on(ledger)
    first, second = pending(service, 2)
    writer = HeldWriter(ledger)

    async def deliver() -> str:
        blocker = writer.submitted(GatewayEvent("stripe", Outcome.IRRELEVANT, None, "k"))
        await asyncio.sleep(0.05)
        gone, waiting = writer.submitted(paid(first)), writer.submitted(paid(second))
        gone.cancel()  # its connection closed while the group was being decided
        writer.release.set()
        await blocker
        answer: str = await waiting
        return answer

    assert asyncio.run(deliver()) == "confirmed"
    assert writer.apply(paid(first)) == "duplicate"  # saved all the same
    writer.close()


def test_a_closed_loop_does_not_stop_the_writer(ledger: Ledger) -> None:
    service = service_on(ledger)
    first, second = pending(service, 2)
    writer = HeldWriter(ledger)
    loop = asyncio.new_event_loop()
    blocker = writer.submit(GatewayEvent("stripe", Outcome.IRRELEVANT, None, "k"))

    async def submit_and_leave() -> None:
        writer.submitted(paid(first))  # its loop closes before the answer comes

    loop.run_until_complete(submit_and_leave())
    loop.close()
    writer.release.set()
    assert blocker.result(5) == "ignored"
    assert writer.apply(paid(second)) == "confirmed"  # the writer still serves
    assert writer.apply(paid(first)) == "duplicate"
    writer.close()
