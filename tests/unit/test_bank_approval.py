"""The maker-checker rule, alone and inside the Payment aggregate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from domain.approval import AdminApproval, Verdict, decide, latest_by_admin
from domain.errors import CurrencyMismatch, InvalidAmount, ReasonRequired, SelfApproval, TransitionNotAllowed
from domain.money import Money
from domain.payment import Payment, PaymentStatus

pytestmark = pytest.mark.unit

ADMIN_A = "a" * 64
ADMIN_B = "b" * 64
OWNER = "0" * 64  # the payer, an admin too in the segregation-of-duties tests
PRICE = Money.of("1000", "USD")
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def approval(admin: str, amount: str = "1000", currency: str = "USD", credit_received: bool = False) -> AdminApproval:
    return AdminApproval(admin, Money.of(amount, currency), credit_received, None, AT, 0)


# The rule, on its own


def test_nothing_confirmed_yet_waits() -> None:
    assert decide(PRICE, [], required=1).verdict is Verdict.WAITING


def test_one_confirmation_of_the_price_credits_when_one_is_required() -> None:
    decision = decide(PRICE, [approval(ADMIN_A)], required=1)
    assert decision.verdict is Verdict.CREDIT
    assert decision.amount == PRICE


def test_with_two_required_one_confirmation_waits_and_a_second_admin_credits() -> None:
    assert decide(PRICE, [approval(ADMIN_A)], required=2).verdict is Verdict.WAITING
    assert decide(PRICE, [approval(ADMIN_A), approval(ADMIN_B)], required=2).verdict is Verdict.CREDIT


def test_the_same_admin_twice_counts_once() -> None:
    decision = decide(PRICE, [approval(ADMIN_A), approval(ADMIN_A)], required=2)
    assert decision.verdict is Verdict.WAITING
    assert decision.reason == "1 of 2 confirmations"


def test_an_admins_later_confirmation_replaces_their_earlier_one() -> None:
    latest = latest_by_admin([approval(ADMIN_A, "900"), approval(ADMIN_B), approval(ADMIN_A, "1000")])
    assert [(a.admin, a.received) for a in latest] == [(ADMIN_B, PRICE), (ADMIN_A, PRICE)]
    assert decide(PRICE, [approval(ADMIN_A, "900"), approval(ADMIN_A), approval(ADMIN_B)], 2).verdict is Verdict.CREDIT


def test_admins_who_disagree_send_the_payment_to_review() -> None:
    decision = decide(PRICE, [approval(ADMIN_A), approval(ADMIN_B, "900")], required=2)
    assert decision.verdict is Verdict.REVIEW
    assert "disagree" in decision.reason
    assert "900.00 USD" in decision.reason


def test_a_disagreement_on_the_currency_is_a_disagreement() -> None:
    decision = decide(PRICE, [approval(ADMIN_A), approval(ADMIN_B, "1000", "EUR")], required=2)
    assert decision.verdict is Verdict.REVIEW


@pytest.mark.parametrize("amount", ["999.99", "1200"])
def test_another_amount_than_the_price_goes_to_review_at_once(amount: str) -> None:
    decision = decide(PRICE, [approval(ADMIN_A, amount)], required=2)
    assert decision.verdict is Verdict.REVIEW
    assert decision.reason == f"received {Money.of(amount, 'USD')} but the payment asks for 1000.00 USD"


def test_another_amount_accepted_explicitly_credits_that_amount_once_enough_admins_agree() -> None:
    first = approval(ADMIN_A, "1200", credit_received=True)
    assert decide(PRICE, [first], required=2).verdict is Verdict.WAITING
    decision = decide(PRICE, [first, approval(ADMIN_B, "1200", credit_received=True)], required=2)
    assert decision.verdict is Verdict.CREDIT
    assert decision.amount == Money.of("1200", "USD")


def test_another_amount_must_be_accepted_by_every_confirming_admin() -> None:
    approvals = [approval(ADMIN_A, "1200", credit_received=True), approval(ADMIN_B, "1200")]
    assert decide(PRICE, approvals, required=2).verdict is Verdict.REVIEW


# The rule inside the aggregate


def bank_payment(currency: str = "USD", amount: str = "1000", rate: str = "1", gateway: str = "bank") -> Payment:
    payment = Payment.initiate(UUID(int=5), OWNER, gateway, "MCBANK0005", Money.of(amount, currency), Decimal(rate))
    payment.collect_events()
    return payment


def event_names(payment: Payment) -> list[str]:
    return [type(event).__name__ for event in payment.collect_events()]


def confirm(payment: Payment, admin: str, amount: str = "1000", required: int = 1, **options: object) -> Verdict:
    currency = str(options.get("currency", payment.currency))
    credit_received = bool(options.get("credit_received", False))
    note = options.get("note")
    decision = payment.confirm_by_admin(
        admin, Money.of(amount, currency), credit_received, None if note is None else str(note), required
    )
    return decision.verdict


def test_a_confirmation_of_the_price_confirms_with_the_initiated_credits() -> None:
    payment = bank_payment("EUR", rate="1.08")
    assert confirm(payment, ADMIN_A) is Verdict.CREDIT
    assert payment.status is PaymentStatus.CONFIRMED
    assert payment.credits == Decimal("1080.00")
    events = payment.collect_events()
    assert [type(e).__name__ for e in events] == [
        "BankTransferConfirmedByAdmin",
        "CreditApprovedByAdmins",
        "PaymentConfirmed",
    ]
    assert events[0].admin == ADMIN_A  # type: ignore[attr-defined]
    assert events[1].admins == [ADMIN_A]  # type: ignore[attr-defined]
    assert events[2].paid_amount == Decimal("1000.00")  # type: ignore[attr-defined]


def test_the_first_of_two_confirmations_records_it_and_waits() -> None:
    payment = bank_payment()
    assert confirm(payment, ADMIN_A, required=2, note="on the statement") is Verdict.WAITING
    assert payment.is_pending
    [counted] = payment.approvals
    assert (counted.admin, counted.received, counted.note) == (ADMIN_A, PRICE, "on the statement")
    assert event_names(payment) == ["BankTransferConfirmedByAdmin"]
    assert confirm(payment, ADMIN_B, required=2) is Verdict.CREDIT
    assert payment.status is PaymentStatus.CONFIRMED


def test_a_received_amount_accepted_explicitly_credits_at_the_locked_rate() -> None:
    payment = bank_payment("EUR", rate="1.08")
    assert confirm(payment, ADMIN_A, "1100.55", credit_received=True) is Verdict.CREDIT
    assert payment.credits == Decimal("1188.59")  # 1100.55 x 1.08 = 1188.594, rounded down
    assert payment.status is PaymentStatus.CONFIRMED


def test_a_received_amount_not_accepted_goes_to_review_and_a_new_round_starts() -> None:
    payment = bank_payment()
    assert confirm(payment, ADMIN_A, "1200", required=2) is Verdict.REVIEW
    assert payment.status is PaymentStatus.NEEDS_REVIEW
    assert payment.status_reason == "received 1200.00 USD but the payment asks for 1000.00 USD"
    assert payment.approvals == []  # the round that ended in review no longer counts
    assert len(payment.admin_approvals) == 1
    assert event_names(payment) == ["BankTransferConfirmedByAdmin", "PaymentSentToReview"]


def test_resolving_a_review_credits_the_verified_amount_once_enough_admins_agree() -> None:
    payment = bank_payment()
    confirm(payment, ADMIN_A, "1000", required=2)
    assert confirm(payment, ADMIN_B, "900", required=2) is Verdict.REVIEW
    payment.collect_events()

    assert confirm(payment, ADMIN_A, "900", required=2, note="statement shows 900") is Verdict.WAITING
    assert confirm(payment, ADMIN_B, "900", required=2, note="agreed") is Verdict.CREDIT
    assert payment.status is PaymentStatus.CONFIRMED
    assert payment.credits == Decimal("900.00")
    assert event_names(payment) == [
        "ReviewCreditApprovedByAdmin",
        "ReviewCreditApprovedByAdmin",
        "CreditApprovedByAdmins",
        "PaymentConfirmed",
    ]


def test_a_disagreement_in_review_starts_another_review_round() -> None:
    payment = bank_payment()
    confirm(payment, ADMIN_A, "1200")
    assert confirm(payment, ADMIN_A, "1200", required=2, note="yes") is Verdict.WAITING
    assert confirm(payment, ADMIN_B, "1100", required=2, note="no") is Verdict.REVIEW
    assert payment.status is PaymentStatus.NEEDS_REVIEW
    assert payment.approvals == []


def test_a_gateway_payment_in_review_is_resolved_by_an_admin() -> None:
    payment = bank_payment(gateway="stripe", amount="25")
    payment.flag_for_review("paid 20.00 USD", Money.of("20", "USD"), "stripe:cs_1:paid", {})
    assert confirm(payment, ADMIN_A, "20", note="customer paid 20") is Verdict.CREDIT
    assert payment.credits == Decimal("20.00")


def test_reject_records_the_admin_and_the_reason() -> None:
    payment = bank_payment()
    payment.reject_by_admin(ADMIN_A, "  no such transfer  ")
    assert payment.status is PaymentStatus.REJECTED
    assert payment.status_reason == "no such transfer"
    [rejected] = payment.collect_events()
    assert type(rejected).__name__ == "PaymentRejected"
    assert rejected.admin == ADMIN_A  # type: ignore[attr-defined]


def rejected() -> Payment:
    payment = bank_payment()
    payment.reject_by_admin(ADMIN_A, "not received")
    payment.collect_events()
    return payment


def expired() -> Payment:
    payment = bank_payment()
    payment.expire("bank:MCBANK0005:expired", {})
    payment.collect_events()
    return payment


def confirmed() -> Payment:
    payment = bank_payment()
    confirm(payment, ADMIN_A)
    payment.collect_events()
    return payment


def pending_stripe() -> Payment:
    return bank_payment(gateway="stripe")


def in_review() -> Payment:
    payment = bank_payment()
    confirm(payment, ADMIN_A, "1200")
    payment.collect_events()
    return payment


Command = Callable[[Payment], object]


@pytest.mark.parametrize(
    ("make", "command", "error"),
    [
        pytest.param(rejected, lambda p: confirm(p, ADMIN_B), TransitionNotAllowed, id="confirm a rejected one"),
        pytest.param(expired, lambda p: confirm(p, ADMIN_B), TransitionNotAllowed, id="confirm an expired one"),
        pytest.param(confirmed, lambda p: confirm(p, ADMIN_B), TransitionNotAllowed, id="confirm a confirmed one"),
        pytest.param(pending_stripe, lambda p: confirm(p, ADMIN_A), TransitionNotAllowed, id="confirm a stripe one"),
        pytest.param(rejected, lambda p: p.reject_by_admin(ADMIN_B, "x"), TransitionNotAllowed, id="reject twice"),
        pytest.param(confirmed, lambda p: p.reject_by_admin(ADMIN_B, "x"), TransitionNotAllowed, id="reject confirmed"),
        pytest.param(bank_payment, lambda p: p.reject_by_admin(ADMIN_A, " "), ReasonRequired, id="reject, no reason"),
        pytest.param(in_review, lambda p: confirm(p, ADMIN_A, "1200"), ReasonRequired, id="resolve, no note"),
        pytest.param(bank_payment, lambda p: confirm(p, OWNER), SelfApproval, id="confirm one's own"),
        pytest.param(in_review, lambda p: confirm(p, OWNER, "1200", note="mine"), SelfApproval, id="resolve one's own"),
        pytest.param(
            in_review,
            lambda p: confirm(p, ADMIN_A, "1200", currency="EUR", note="x"),
            CurrencyMismatch,
            id="resolve in another currency",
        ),
        pytest.param(
            bank_payment,
            lambda p: confirm(p, ADMIN_A, "1200", currency="EUR", credit_received=True),
            CurrencyMismatch,
            id="credit another currency",
        ),
        pytest.param(
            lambda: bank_payment("TZS", "3000000", "0.00037"),
            lambda p: confirm(p, ADMIN_A, "1", credit_received=True),
            InvalidAmount,
            id="credit an amount that buys nothing",
        ),
    ],
)
def test_refused_admin_actions_raise_and_record_nothing(
    make: Callable[[], Payment], command: Command, error: type[Exception]
) -> None:
    payment = make()
    status, version = payment.status, payment.version
    with pytest.raises(error):
        command(payment)
    assert (payment.status, payment.version) == (status, version)
    assert payment.collect_events() == []


def test_an_approval_by_the_owner_recorded_before_the_rule_never_counts() -> None:
    payment = bank_payment()
    payment.trigger_event(
        Payment.BankTransferConfirmedByAdmin,
        admin=OWNER,
        received_amount=Decimal("1000.00"),
        received_currency="USD",
        credit_received_amount=False,
        note="approved by myself, as was possible once",
        round=0,
    )
    assert payment.approvals == []
    assert confirm(payment, ADMIN_A, required=2) is Verdict.WAITING
    assert [approval.admin for approval in payment.approvals] == [ADMIN_A]
