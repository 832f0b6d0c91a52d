"""Racing confirmations from separate service instances on one store credit exactly once.

Every racer bootstraps its own services (its own connection pools), loads the payment, waits at a
barrier and then delivers its webhook, so the deliveries really overlap.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing.queues import Queue
from uuid import UUID

import pytest

from application.payments import TopUpOrder
from application.replay import check_balances
from application.views import PaymentView
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.settings import Settings
from tests.integration.read_side_support import caught_up
from tests.integration.support import SESSION_SECRET, event_counts

pytestmark = pytest.mark.integration

USER = "c" * 64
BARRIER_TIMEOUT = 60.0


@dataclass(frozen=True)
class Delivery:
    """A signed "paid" webhook for one payment, as the gateway would send it."""

    payment_id: UUID
    body: bytes
    headers: dict[str, str]

    def send(self, services: Services, barrier: threading.Barrier) -> str:
        services.payments.payment(self.payment_id)  # connections open and warm before the race
        barrier.wait(timeout=BARRIER_TIMEOUT)
        return services.payments.receive_webhook("stripe", self.body, self.headers)


Race = Callable[[str, Sequence[Delivery]], list[str]]


def settings(url: str) -> Settings:
    return Settings(database_url=url, session_secret=SESSION_SECRET)


def prepare(url: str, amounts: Sequence[str], deliveries_each: int = 1) -> tuple[list[PaymentView], list[Delivery]]:
    """Pending payments of USER and `deliveries_each` distinct deliveries (new event ids) of each one's payment."""
    services = bootstrap(settings(url))
    try:
        payments = [services.payments.initiate(USER, TopUpOrder(amount, "USD", "stripe")).payment for amount in amounts]
        simulate = services.simulators["stripe"].simulate
        deliveries = [
            Delivery(payment.payment_id, *simulate(payment, "pay"))
            for payment in payments
            for _ in range(deliveries_each)
        ]
        return payments, deliveries
    finally:
        services.close()


def race_threads(url: str, deliveries: Sequence[Delivery]) -> list[str]:
    barrier = threading.Barrier(len(deliveries))
    with ExitStack() as stack, ThreadPoolExecutor(len(deliveries)) as pool:
        racers = []
        for _ in deliveries:
            services = bootstrap(settings(url))
            stack.callback(services.close)
            racers.append(services)
        return list(pool.map(lambda services, delivery: delivery.send(services, barrier), racers, deliveries))


def _send_from_process(url: str, delivery: Delivery, barrier: threading.Barrier, results: Queue[str]) -> None:
    """The body of a spawned process: its own interpreter, services and connections."""
    try:
        services = bootstrap(settings(url))
        try:
            results.put(delivery.send(services, barrier))
        finally:
            services.close()
    except BaseException as error:
        results.put(f"error: {error!r}")
        raise


def race_processes(url: str, deliveries: Sequence[Delivery]) -> list[str]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(deliveries))
    results: Queue[str] = context.Queue()
    processes = [
        context.Process(target=_send_from_process, args=(url, delivery, barrier, results)) for delivery in deliveries
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [str(results.get(timeout=BARRIER_TIMEOUT + 30)) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert [process.exitcode for process in processes] == [0] * len(processes), outcomes
    return outcomes


def assert_credited_exactly_once(url: str, payments: Sequence[PaymentView]) -> None:
    services = bootstrap(settings(url))
    try:
        assert [services.payments.payment(p.payment_id).status for p in payments] == ["confirmed"] * len(payments)
        wallet = caught_up(services).wallet_of(USER)
        assert wallet.balance == sum((payment.credits for payment in payments), Decimal("0.00"))
        assert sorted(str(entry.payment_id) for entry in wallet.entries) == sorted(str(p.payment_id) for p in payments)
        counts = event_counts(services.ledger)
        assert counts["CreditsToppedUp"] == len(payments)
        assert counts["PaymentConfirmed"] == len(payments)
        assert [check.agrees for check in check_balances(services.ledger)] == [True]
    finally:
        services.close()


def one_payment_confirmed_by_racers(url: str, racers: int, race: Race) -> None:
    payments, deliveries = prepare(url, ["10.00"], deliveries_each=racers)

    outcomes = race(url, deliveries)

    assert sorted(outcomes) == ["confirmed"] + ["duplicate"] * (racers - 1)
    assert_credited_exactly_once(url, payments)


@pytest.mark.postgres
@pytest.mark.parametrize("racers", [2, 8])
def test_racing_threads_credit_a_payment_once_on_postgres(postgres_url: str, racers: int) -> None:
    one_payment_confirmed_by_racers(postgres_url, racers, race_threads)


@pytest.mark.postgres
def test_racing_processes_credit_a_payment_once_on_postgres(postgres_url: str) -> None:
    one_payment_confirmed_by_racers(postgres_url, 4, race_processes)


@pytest.mark.parametrize("racers", [2, 4])
def test_racing_threads_credit_a_payment_once_on_sqlite(sqlite_url: str, racers: int) -> None:
    one_payment_confirmed_by_racers(sqlite_url, racers, race_threads)


@pytest.mark.postgres
def test_racing_confirmations_of_different_payments_lose_no_credit_on_postgres(postgres_url: str) -> None:
    payments, deliveries = prepare(postgres_url, ["1.00", "2.00", "3.00", "4.00", "5.00", "6.00"])

    outcomes = race_threads(postgres_url, deliveries)

    assert outcomes == ["confirmed"] * len(payments)
    assert_credited_exactly_once(postgres_url, payments)
