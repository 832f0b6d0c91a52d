"""Refund and dispute events in settlement: applied to a confirmed payment, recorded as ignored otherwise."""

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


def payment_in(status: str) -> Payment:
    payment = Payment.initiate(UUID(int=7), "user-1", "stripe", "MCREF0007", PRICE, Decimal(1))
    if status == "confirmed":
        payment.confirm(PRICE, "stripe:cs_1:paid", {})
    elif status == "needs_review":
        payment.flag_for_review("less", Money.of("1.00", "USD"), "stripe:cs_1:paid", {})
    payment.collect_events()
    return payment


def refunded(amount: str, charged: Money = PRICE) -> GatewayEvent:
    return GatewayEvent(
        "stripe",
        Outcome.REFUNDED,
        None,
        f"stripe:ch_1:refunded:{amount}",
        charged,
        {"gateway_event_id": "evt_r"},
        gateway_object="pi_1",
        refunded=Money.of(amount, charged.currency),
    )


DISPUTED = GatewayEvent("stripe", Outcome.DISPUTED, None, "stripe:dp_1:disputed", None, {}, gateway_object="pi_1")


def names(payment: Payment) -> list[str]:
    return [type(event).__name__ for event in payment.collect_events()]


def test_a_refund_of_a_confirmed_payment_refunds_it() -> None:
    payment = payment_in("confirmed")
    assert settle(payment, refunded("10.00")).outcome == "refunded"
    assert (payment.status, payment.credits_reversed) == (PaymentStatus.REFUNDED, Decimal("10.00"))
    assert names(payment) == ["PaymentRefunded"]


def test_the_same_refund_again_is_a_duplicate_and_a_larger_one_is_news() -> None:
    payment = payment_in("confirmed")
    settle(payment, refunded("10.00"))
    assert settle(payment, refunded("10.00")).outcome == "duplicate"
    assert settle(payment, refunded("25.00")).outcome == "refunded"
    assert payment.credits_reversed == Decimal("25.00")


def test_a_smaller_refund_after_a_larger_one_is_recorded_as_ignored() -> None:
    payment = payment_in("confirmed")
    settle(payment, refunded("20.00"))
    payment.collect_events()
    assert settle(payment, refunded("5.00")).outcome == "ignored"
    assert names(payment) == ["GatewayEventIgnored"]
    assert payment.credits_reversed == Decimal("20.00")


@pytest.mark.parametrize("status", ["pending", "needs_review"])
def test_refunds_and_disputes_of_an_unconfirmed_payment_are_held_for_an_admin(status: str) -> None:
    payment = payment_in(status)
    assert settle(payment, refunded("25.00")).outcome == "held"
    assert settle(payment, DISPUTED).outcome == "held"
    assert payment.credits_reversed == Decimal("0.00")
    assert names(payment) == ["GatewayEventHeld", "GatewayEventHeld"]
    assert [held.news for held in payment.held] == ["refunded", "disputed"]
    assert payment.refunded_while_unsettled and payment.needs_attention


def test_a_refund_of_a_charge_for_another_amount_or_currency_is_held() -> None:
    payment = payment_in("confirmed")
    assert settle(payment, refunded("5.00", charged=Money.of("25.00", "EUR"))).outcome == "held"
    assert settle(payment, refunded("6.00", charged=Money.of("30.00", "USD"))).outcome == "held"
    assert (payment.status, payment.credits_reversed) == (PaymentStatus.CONFIRMED, Decimal("0.00"))
    assert "EUR" in payment.held[0].reason


def test_a_refund_naming_no_amounts_is_recorded_as_ignored() -> None:
    payment = payment_in("confirmed")
    event = GatewayEvent("stripe", Outcome.REFUNDED, None, "stripe:ch_1:refunded:x", None, {}, gateway_object="pi_1")
    assert settle(payment, event).outcome == "ignored"
    assert payment.status is PaymentStatus.CONFIRMED


def test_a_dispute_reverses_what_is_left() -> None:
    payment = payment_in("confirmed")
    settle(payment, refunded("5.00"))
    assert settle(payment, DISPUTED).outcome == "disputed"
    assert (payment.status, payment.credits_reversed) == (PaymentStatus.DISPUTED, Decimal("25.00"))


def test_another_paid_object_after_a_refund_is_held_for_an_admin() -> None:
    payment = payment_in("confirmed")
    settle(payment, refunded("25.00"))
    late = GatewayEvent("stripe", Outcome.PAID, "MCREF0007", "stripe:cs_2:paid", PRICE, {})
    assert settle(payment, late).outcome == "held"
    assert payment.status is PaymentStatus.REFUNDED
    assert payment.held[-1].news == "paid"
