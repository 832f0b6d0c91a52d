"""A payment recorded while its checkout was being opened is never answered without a URL, and never left so."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from application.checkouts import CheckoutTiming
from application.errors import ApplicationError, CheckoutInProgress, GatewayRefused
from application.gateways import Checkout, CheckoutRequest
from application.ledger import Ledger
from application.payments import PaymentService, TopUpOrder
from application.reconciliation import Reconciler
from tests.following import FollowingPaymentQueries, payments_of
from tests.unit.fakes import FakeClock, FakeGateway, FakeIdentifiers

pytestmark = pytest.mark.unit

RATES = {"USD": Decimal(1)}
ALICE = "a" * 64
ORDER = TopUpOrder(amount="25", currency="USD", gateway="stripe")
TIMING = CheckoutTiming(abandoned_after=timedelta(seconds=120), replay_wait=timedelta(seconds=0.3), poll_seconds=0.02)


class ProcessDied(BaseException):
    """The process opening the checkout was killed: nothing after the gateway call runs."""


@dataclass
class InterruptibleGateway(FakeGateway):
    die_while_opening: bool = False
    resume_error: ApplicationError | None = None
    resumed: list[CheckoutRequest] = field(default_factory=list)
    hold: threading.Event | None = None  # opens wait for it: an open under way

    def initiate_checkout(self, request: CheckoutRequest) -> Checkout:
        if self.hold is not None:
            self.hold.wait(5)
        if self.die_while_opening:
            self.die_while_opening = False
            self.requests.append(request)
            raise ProcessDied
        return super().initiate_checkout(request)

    def resume_checkout(self, request: CheckoutRequest) -> Checkout:
        self.resumed.append(request)
        if self.resume_error is not None:
            raise self.resume_error
        return Checkout(f"https://fakepay.test/pay/{request.reference}", f"chk_{request.reference}")


@pytest.fixture
def gateway() -> InterruptibleGateway:
    return InterruptibleGateway()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))  # payments are stamped with the real time by the event store


@pytest.fixture
def service(ledger: Ledger, gateway: InterruptibleGateway, clock: FakeClock) -> PaymentService:
    return PaymentService(ledger, {"stripe": gateway}, RATES, FakeIdentifiers(), clock=clock, timing=TIMING)


def half_made(ledger: Ledger, service: PaymentService, gateway: InterruptibleGateway, key: str = "order-1") -> UUID:
    gateway.die_while_opening = True
    with pytest.raises(ProcessDied):
        service.initiate(ALICE, ORDER, key)
    (payment,) = payments_of(ledger, ALICE)
    assert (payment.status, payment.payment_url) == ("pending", None)
    return payment.payment_id


def test_a_replay_before_the_open_can_be_abandoned_is_told_to_come_back(
    ledger: Ledger, service: PaymentService, gateway: InterruptibleGateway
) -> None:
    half_made(ledger, service, gateway)
    with pytest.raises(CheckoutInProgress) as refused:
        service.initiate(ALICE, ORDER, "order-1")
    assert 1 <= refused.value.retry_after <= 5
    assert gateway.resumed == []


def test_a_replay_after_the_bound_finishes_the_checkout_and_answers_it(
    ledger: Ledger, service: PaymentService, gateway: InterruptibleGateway, clock: FakeClock
) -> None:
    payment_id = half_made(ledger, service, gateway)
    clock.advance(TIMING.abandoned_after + timedelta(seconds=1))
    again = service.initiate(ALICE, ORDER, "order-1")
    assert again.replayed and again.payment.payment_id == payment_id
    assert (again.payment.status, again.payment.payment_url) == ("pending", "https://fakepay.test/pay/MCTEST0001")
    assert [request.payment_id for request in gateway.resumed] == [payment_id]
    assert service.initiate(ALICE, ORDER, "order-1").payment.payment_url == again.payment.payment_url
    assert len(gateway.resumed) == 1


def test_a_replay_that_cannot_be_finished_answers_the_payment_failed_with_the_reason(
    ledger: Ledger, service: PaymentService, gateway: InterruptibleGateway, clock: FakeClock
) -> None:
    half_made(ledger, service, gateway)
    gateway.resume_error = GatewayRefused("ClickPesa would not open a checkout: HTTP 409, Order reference already used")
    clock.advance(TIMING.abandoned_after + timedelta(seconds=1))
    again = service.initiate(ALICE, ORDER, "order-1").payment
    assert (again.status, again.payment_url) == ("failed", None)
    assert again.status_reason is not None and "Order reference already used" in again.status_reason


@contextmanager
def opening_elsewhere(
    ledger: Ledger, service: PaymentService, gateway: InterruptibleGateway
) -> Iterator[threading.Event]:
    """The first request, in another thread, recorded and held at the gateway until the event is set."""
    gateway.hold = threading.Event()
    first = threading.Thread(target=service.initiate, args=(ALICE, ORDER, "order-1"))
    first.start()
    try:
        while not payments_of(ledger, ALICE):
            threading.Event().wait(0.01)
        yield gateway.hold
    finally:
        gateway.hold.set()
        first.join()


def test_a_replay_waits_for_the_open_under_way_and_answers_its_url(
    ledger: Ledger, service: PaymentService, gateway: InterruptibleGateway
) -> None:
    with opening_elsewhere(ledger, service, gateway) as hold:
        threading.Timer(0.1, hold.set).start()
        again = service.initiate(ALICE, ORDER, "order-1")
    assert again.replayed and again.payment.payment_url == "https://fakepay.test/pay/MCTEST0001"
    assert len(gateway.requests) == 1 and gateway.resumed == []


def test_an_open_under_way_here_is_never_taken_for_abandoned(
    ledger: Ledger, service: PaymentService, gateway: InterruptibleGateway, clock: FakeClock
) -> None:
    with opening_elsewhere(ledger, service, gateway):
        clock.advance(TIMING.abandoned_after * 2)
        with pytest.raises(CheckoutInProgress):
            service.initiate(ALICE, ORDER, "order-1")
        (payment,) = payments_of(ledger, ALICE)
        assert service.finish_checkout(payment.payment_id) == "opening"
    assert gateway.resumed == []


def test_reconciliation_finishes_half_made_checkouts_only_once_abandoned(
    ledger: Ledger, service: PaymentService, gateway: InterruptibleGateway, clock: FakeClock
) -> None:
    payment_id = half_made(ledger, service, gateway)
    reconciler = Reconciler(service, {"stripe": gateway}, FollowingPaymentQueries(ledger), clock, timedelta(0))
    clock.advance(timedelta(seconds=1))
    assert reconciler.run_once().outcomes == {"opening": 1}
    clock.advance(TIMING.abandoned_after + timedelta(seconds=1))
    assert reconciler.run_once().outcomes == {"checkout-recovered": 1}
    assert service.payment(payment_id).payment_url == "https://fakepay.test/pay/MCTEST0001"
    assert reconciler.run_once().outcomes == {"no-news": 1}


def test_reconciliation_fails_a_half_made_checkout_the_gateway_cannot_finish(
    ledger: Ledger, service: PaymentService, gateway: InterruptibleGateway, clock: FakeClock
) -> None:
    payment_id = half_made(ledger, service, gateway, key="order-2")
    gateway.resume_error = GatewayRefused("Stripe refused to open a Checkout Session (HTTP 400)")
    clock.advance(TIMING.abandoned_after + timedelta(seconds=1))
    reconciler = Reconciler(service, {"stripe": gateway}, FollowingPaymentQueries(ledger), clock, timedelta(0))
    assert reconciler.run_once().outcomes == {"failed": 1}
    failed = service.payment(payment_id)
    assert failed.status == "failed"
    assert failed.status_reason == (
        "an interrupted checkout could not be finished: Stripe refused to open a Checkout Session (HTTP 400)"
    )
    assert service.initiate(ALICE, ORDER, "order-2").payment.status == "failed"
