from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from uuid import UUID

import pytest

from domain.errors import TransitionNotAllowed
from domain.money import Money
from domain.payment import Payment, PaymentStatus

pytestmark = pytest.mark.unit

PAYMENT_ID = UUID(int=42)
PRICE = Money.of("50000", "TZS")
RATE = Decimal("0.00037")
EVIDENCE = {"gateway_event_id": "evt_1"}


def new_payment() -> Payment:
    """A pending payment whose creation event has already been collected (as after a save)."""
    payment = Payment.initiate(PAYMENT_ID, "user-1", "clickpesa", "MCREF0001", PRICE, RATE)
    payment.collect_events()
    return payment


def event_names(payment: Payment) -> list[str]:
    return [type(event).__name__ for event in payment.collect_events()]


def confirmed_payment() -> Payment:
    payment = new_payment()
    payment.confirm(PRICE, "paid-1", EVIDENCE)
    payment.collect_events()
    return payment


def failed_payment() -> Payment:
    payment = new_payment()
    payment.fail("card declined", "failed-1", EVIDENCE)
    payment.collect_events()
    return payment


def expired_payment() -> Payment:
    payment = new_payment()
    payment.expire("expired-1", EVIDENCE)
    payment.collect_events()
    return payment


def test_initiate_locks_the_rate_and_the_credits_into_the_first_event() -> None:
    payment = Payment.initiate(PAYMENT_ID, "user-1", "clickpesa", "MCREF0001", PRICE, RATE)
    [initiated] = payment.collect_events()
    assert type(initiated).__name__ == "PaymentInitiated"
    assert initiated.rate == RATE  # type: ignore[attr-defined]
    assert initiated.credits == Decimal("18.50")  # type: ignore[attr-defined]
    assert initiated.amount == Decimal("50000.00")  # type: ignore[attr-defined]
    assert initiated.currency == "TZS"  # type: ignore[attr-defined]


def test_a_new_payment_is_pending_with_its_price_and_credits() -> None:
    payment = new_payment()
    assert payment.id == PAYMENT_ID
    assert payment.status is PaymentStatus.PENDING
    assert payment.is_pending
    assert payment.price == PRICE
    assert payment.credits == Decimal("18.50")
    assert payment.payment_url is None


def test_confirm_a_pending_payment_with_the_full_price() -> None:
    payment = new_payment()
    payment.confirm(Money.of("50000.00", "TZS"), "paid-1", EVIDENCE)
    assert payment.status is PaymentStatus.CONFIRMED
    assert payment.has_handled("paid-1")
    [confirmed] = payment.collect_events()
    assert type(confirmed).__name__ == "PaymentConfirmed"
    assert confirmed.paid_amount == Decimal("50000.00")  # type: ignore[attr-defined]
    assert confirmed.evidence == EVIDENCE  # type: ignore[attr-defined]


def test_fail_a_pending_payment_records_the_reason() -> None:
    payment = new_payment()
    payment.fail("insufficient balance", "failed-1", EVIDENCE)
    assert payment.status is PaymentStatus.FAILED
    assert payment.status_reason == "insufficient balance"
    assert event_names(payment) == ["PaymentFailed"]


def test_expire_a_pending_payment() -> None:
    payment = new_payment()
    payment.expire("expired-1", EVIDENCE)
    assert payment.status is PaymentStatus.EXPIRED
    assert event_names(payment) == ["PaymentExpired"]


def test_flag_a_pending_payment_for_review_records_what_was_paid() -> None:
    payment = new_payment()
    payment.flag_for_review("paid less", Money.of("100", "TZS"), "paid-1", EVIDENCE)
    assert payment.status is PaymentStatus.NEEDS_REVIEW
    assert payment.status_reason == "paid less"
    [flagged] = payment.collect_events()
    assert type(flagged).__name__ == "PaymentFlaggedForReview"
    assert flagged.paid_amount == Decimal("100.00")  # type: ignore[attr-defined]
    assert flagged.paid_currency == "TZS"  # type: ignore[attr-defined]


def test_flag_for_review_without_a_known_amount() -> None:
    payment = new_payment()
    payment.flag_for_review("amount unknown", None, "paid-1", EVIDENCE)
    assert payment.status is PaymentStatus.NEEDS_REVIEW


@pytest.mark.parametrize("settled", [failed_payment, expired_payment])
def test_money_after_failure_or_expiry_can_be_flagged_for_review(settled: Callable[[], Payment]) -> None:
    payment = settled()
    payment.flag_for_review("paid after settling", PRICE, "paid-late", EVIDENCE)
    assert payment.status is PaymentStatus.NEEDS_REVIEW


def test_ignore_records_the_event_without_changing_the_status() -> None:
    payment = confirmed_payment()
    payment.ignore("late expiry", "expired-1", EVIDENCE)
    assert payment.status is PaymentStatus.CONFIRMED
    assert payment.has_handled("expired-1")
    assert event_names(payment) == ["GatewayEventIgnored"]


Command = Callable[[Payment], None]


@pytest.mark.parametrize(
    ("make", "command"),
    [
        pytest.param(confirmed_payment, lambda p: p.confirm(PRICE, "paid-2", EVIDENCE), id="confirm twice"),
        pytest.param(failed_payment, lambda p: p.confirm(PRICE, "paid-1", EVIDENCE), id="confirm a failed one"),
        pytest.param(expired_payment, lambda p: p.confirm(PRICE, "paid-1", EVIDENCE), id="confirm an expired one"),
        pytest.param(confirmed_payment, lambda p: p.fail("late", "failed-1", EVIDENCE), id="fail a confirmed one"),
        pytest.param(failed_payment, lambda p: p.fail("again", "failed-2", EVIDENCE), id="fail a failed one"),
        pytest.param(confirmed_payment, lambda p: p.expire("expired-1", EVIDENCE), id="expire a confirmed one"),
        pytest.param(failed_payment, lambda p: p.expire("expired-1", EVIDENCE), id="expire a failed one"),
        pytest.param(new_payment, lambda p: p.confirm(Money.of("49999", "TZS"), "paid-1", EVIDENCE), id="confirm less"),
        pytest.param(
            new_payment, lambda p: p.confirm(Money.of("50000.01", "TZS"), "paid-1", EVIDENCE), id="confirm more"
        ),
        pytest.param(
            new_payment,
            lambda p: p.confirm(Money.of("50000", "USD"), "paid-1", EVIDENCE),
            id="confirm another currency",
        ),
        pytest.param(
            confirmed_payment,
            lambda p: p.flag_for_review("odd", PRICE, "paid-2", EVIDENCE),
            id="flag a confirmed one for review",
        ),
        pytest.param(
            confirmed_payment,
            lambda p: p.open_checkout("https://pay.test/1", "chk_1", {}),
            id="open a checkout for a confirmed one",
        ),
        pytest.param(
            failed_payment,
            lambda p: p.open_checkout("https://pay.test/1", "chk_1", {}),
            id="open a checkout for a failed one",
        ),
    ],
)
def test_forbidden_transitions_raise_and_record_nothing(make: Callable[[], Payment], command: Command) -> None:
    payment = make()
    status, version = payment.status, payment.version
    with pytest.raises(TransitionNotAllowed):
        command(payment)
    assert payment.status is status
    assert payment.version == version
    assert payment.collect_events() == []


def test_open_checkout_records_where_the_payer_pays() -> None:
    payment = new_payment()
    payment.open_checkout("https://pay.test/1", "chk_1", {"reference": "MCREF0001"})
    assert payment.payment_url == "https://pay.test/1"
    assert payment.checkout_id == "chk_1"
    assert payment.instructions == {"reference": "MCREF0001"}
    assert payment.is_pending
    assert event_names(payment) == ["CheckoutOpened"]
