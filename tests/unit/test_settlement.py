from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from application.gateways import GatewayEvent, Outcome
from application.settlement import settle
from domain.money import Money
from domain.payment import Payment, PaymentStatus

pytestmark = pytest.mark.unit

PRICE = Money.of("25.00", "USD")


def pending_payment() -> Payment:
    payment = Payment.initiate(UUID(int=7), "user-1", "stripe", "MCREF0007", PRICE, Decimal(1))
    payment.collect_events()
    return payment


def gateway_event(outcome: Outcome, key: str, paid: Money | None = None) -> GatewayEvent:
    return GatewayEvent("stripe", outcome, "MCREF0007", key, paid, {"gateway_event_id": f"evt_{key}"})


def paid(money: Money | None = PRICE, key: str = "stripe:cs_1:paid") -> GatewayEvent:
    return gateway_event(Outcome.PAID, key, money)


def event_names(payment: Payment) -> list[str]:
    return [type(event).__name__ for event in payment.collect_events()]


def test_paid_in_full_confirms_a_pending_payment() -> None:
    payment = pending_payment()
    assert settle(payment, paid()).outcome == "confirmed"
    assert payment.status is PaymentStatus.CONFIRMED
    assert event_names(payment) == ["PaymentConfirmed"]


def test_the_same_event_again_is_a_duplicate_and_changes_nothing() -> None:
    payment = pending_payment()
    settle(payment, paid())
    payment.collect_events()
    assert settle(payment, paid()).outcome == "duplicate"
    assert payment.status is PaymentStatus.CONFIRMED
    assert event_names(payment) == []


@pytest.mark.parametrize(
    "money", [Money.of("24.99", "USD"), Money.of("25.01", "USD"), Money.of("25.00", "EUR"), None], ids=str
)
def test_paid_another_amount_or_currency_needs_review(money: Money | None) -> None:
    payment = pending_payment()
    assert settle(payment, paid(money)).outcome == "needs_review"
    assert payment.status is PaymentStatus.NEEDS_REVIEW
    assert event_names(payment) == ["PaymentFlaggedForReview"]


def test_failure_fails_a_pending_payment_with_the_gateway_reason() -> None:
    payment = pending_payment()
    failure = GatewayEvent("stripe", Outcome.FAILED, "MCREF0007", "stripe:cs_1:failed", None, {"reason": "declined"})
    assert settle(payment, failure).outcome == "failed"
    assert payment.status is PaymentStatus.FAILED
    assert payment.status_reason == "declined"


def test_expiry_expires_a_pending_payment() -> None:
    payment = pending_payment()
    assert settle(payment, gateway_event(Outcome.EXPIRED, "stripe:cs_1:expired")).outcome == "expired"
    assert payment.status is PaymentStatus.EXPIRED


@pytest.mark.parametrize("outcome", [Outcome.EXPIRED, Outcome.FAILED])
def test_a_late_expiry_or_failure_after_confirmation_is_ignored_and_recorded(outcome: Outcome) -> None:
    payment = pending_payment()
    settle(payment, paid())
    payment.collect_events()
    assert settle(payment, gateway_event(outcome, f"stripe:cs_1:{outcome}")).outcome == "ignored"
    assert payment.status is PaymentStatus.CONFIRMED
    [ignored] = payment.collect_events()
    assert type(ignored).__name__ == "GatewayEventIgnored"
    assert ignored.key == f"stripe:cs_1:{outcome}"  # type: ignore[attr-defined]
    assert payment.has_handled(f"stripe:cs_1:{outcome}")


def test_the_ignored_event_delivered_again_is_a_duplicate() -> None:
    payment = pending_payment()
    settle(payment, paid())
    late = gateway_event(Outcome.EXPIRED, "stripe:cs_1:expired")
    settle(payment, late)
    payment.collect_events()
    assert settle(payment, late).outcome == "duplicate"
    assert event_names(payment) == []


def test_a_second_payment_for_a_confirmed_payment_is_held_for_an_admin() -> None:
    payment = pending_payment()
    settle(payment, paid())
    payment.collect_events()
    assert settle(payment, paid(key="stripe:cs_2:paid")).outcome == "held"
    assert payment.status is PaymentStatus.CONFIRMED
    assert event_names(payment) == ["GatewayEventHeld"]
    assert payment.needs_attention and "stripe:cs_2:paid" in payment.held[0].reason


@pytest.mark.parametrize("first", [Outcome.FAILED, Outcome.EXPIRED])
def test_paid_after_failure_or_expiry_needs_review(first: Outcome) -> None:
    payment = pending_payment()
    settle(payment, gateway_event(first, f"stripe:cs_1:{first}"))
    payment.collect_events()
    assert settle(payment, paid()).outcome == "needs_review"
    assert payment.status is PaymentStatus.NEEDS_REVIEW
    assert event_names(payment) == ["PaymentFlaggedForReview"]


def test_a_failure_after_expiry_is_ignored() -> None:
    payment = pending_payment()
    settle(payment, gateway_event(Outcome.EXPIRED, "stripe:cs_1:expired"))
    assert settle(payment, gateway_event(Outcome.FAILED, "stripe:cs_1:failed")).outcome == "ignored"
    assert payment.status is PaymentStatus.EXPIRED


@pytest.mark.parametrize("outcome", [Outcome.PENDING, Outcome.IRRELEVANT])
def test_a_still_pending_outcome_changes_nothing(outcome: Outcome) -> None:
    payment = pending_payment()
    version = payment.version
    assert settle(payment, gateway_event(outcome, "stripe:cs_1:pending")).outcome == "pending"
    assert payment.status is PaymentStatus.PENDING
    assert payment.version == version
    assert event_names(payment) == []
    assert not payment.has_handled("stripe:cs_1:pending")
