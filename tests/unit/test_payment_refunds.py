"""Refunds and disputes on the Payment aggregate: cumulative, never more than was credited."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from domain.errors import CurrencyMismatch, InvalidAmount, TransitionNotAllowed
from domain.money import Money, credits
from domain.payment import Payment, PaymentStatus

pytestmark = pytest.mark.unit

PRICE = Money.of("10.00", "EUR")
RATE = Decimal("1.08")  # 10.80 MC
EVIDENCE = {"gateway_event_id": "evt_1"}


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def confirmed() -> Payment:
    payment = Payment.initiate(UUID(int=9), "user-1", "stripe", "MCREF0009", PRICE, RATE)
    payment.confirm(PRICE, "paid", EVIDENCE)
    payment.collect_events()
    return payment


def test_a_full_refund_takes_back_every_credit() -> None:
    payment = confirmed()
    assert payment.refund(PRICE, PRICE, "refund-1000", EVIDENCE) == credits("10.80")
    assert payment.status is PaymentStatus.REFUNDED
    assert payment.credits_reversed == Decimal("10.80")
    (event,) = payment.collect_events()
    assert type(event).__name__ == "PaymentRefunded"
    assert (event.refunded_amount, event.refunded_currency, event.credits_reversed) == (  # type: ignore[attr-defined]
        Decimal("10.00"),
        "EUR",
        Decimal("10.80"),
    )
    assert event.evidence == EVIDENCE  # type: ignore[attr-defined]


def test_partial_refunds_take_back_their_cumulative_share_rounded_down() -> None:
    payment = confirmed()
    assert payment.refund(eur("3.33"), PRICE, "r1", EVIDENCE) == credits("3.59")  # 3.5964
    assert payment.refund(eur("6.66"), PRICE, "r2", EVIDENCE) == credits("3.60")  # 7.1928 - 3.59, rounded down
    assert payment.refund(PRICE, PRICE, "r3", EVIDENCE) == credits("3.61")
    assert payment.credits_reversed == payment.credits


def test_a_refund_that_adds_nothing_is_refused_before_anything_changes() -> None:
    payment = confirmed()
    payment.refund(eur("5.00"), PRICE, "r1", EVIDENCE)
    payment.collect_events()
    for smaller in (eur("5.00"), eur("4.00")):
        with pytest.raises(TransitionNotAllowed):
            payment.refund(smaller, PRICE, "r2", EVIDENCE)
    assert payment.collect_events() == []
    assert payment.credits_reversed == Decimal("5.40")


@pytest.mark.parametrize(
    ("refunded", "charged", "error"),
    [(eur("10.01"), PRICE, InvalidAmount), (Money.of("5.00", "USD"), PRICE, CurrencyMismatch)],
)
def test_a_refund_beyond_the_charge_or_in_another_currency_is_refused(
    refunded: Money, charged: Money, error: type[Exception]
) -> None:
    payment = confirmed()
    with pytest.raises(error):
        payment.refund(refunded, charged, "r1", EVIDENCE)
    assert payment.status is PaymentStatus.CONFIRMED


@pytest.mark.parametrize("status", ["pending", "needs_review"])
def test_only_a_confirmed_or_refunded_payment_can_be_refunded(status: str) -> None:
    payment = Payment.initiate(UUID(int=9), "user-1", "stripe", "MCREF0009", PRICE, RATE)
    if status == "needs_review":
        payment.flag_for_review("paid less", eur("9.00"), "paid", EVIDENCE)
    with pytest.raises(TransitionNotAllowed):
        payment.refund(PRICE, PRICE, "r1", EVIDENCE)
    with pytest.raises(TransitionNotAllowed):
        payment.dispute("d1", EVIDENCE)


def test_a_dispute_takes_back_whatever_is_left() -> None:
    payment = confirmed()
    payment.refund(eur("2.50"), PRICE, "r1", EVIDENCE)
    assert payment.dispute("d1", EVIDENCE) == credits("8.10")
    assert payment.status is PaymentStatus.DISPUTED
    assert payment.credits_reversed == payment.credits
    assert [type(e).__name__ for e in payment.collect_events()] == ["PaymentRefunded", "PaymentDisputed"]


def test_a_refund_or_second_dispute_of_a_disputed_payment_takes_nothing_more() -> None:
    payment = confirmed()
    payment.dispute("d1", EVIDENCE, dispute_id="dp_1")
    assert payment.refund(PRICE, PRICE, "r1", EVIDENCE) == credits("0.00")
    assert payment.dispute("d2", EVIDENCE, dispute_id="dp_2") == credits("0.00")
    assert (payment.status, payment.credits_reversed) == (PaymentStatus.DISPUTED, payment.credits)


def test_the_state_is_rebuilt_from_the_events() -> None:
    payment = confirmed()
    payment.refund(eur("3.33"), PRICE, "r1", EVIDENCE)
    payment.dispute("d1", EVIDENCE)
    events = payment.collect_events()
    rebuilt = Payment.initiate(UUID(int=9), "user-1", "stripe", "MCREF0009", PRICE, RATE)
    rebuilt.confirm(PRICE, "paid", EVIDENCE)
    for event in events:
        event.mutate(rebuilt)
    assert (rebuilt.status, rebuilt.credits_reversed, rebuilt.refunded) == (
        PaymentStatus.DISPUTED,
        Decimal("10.80"),
        eur("3.33"),
    )
    assert rebuilt.has_handled("r1") and rebuilt.has_handled("d1")
