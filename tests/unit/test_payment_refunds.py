"""Refunds and disputes on the Payment aggregate: cumulative, never more than was credited.

The caps on a payment's credits live with the payment: its unsaved events say what moves in its wallet.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import (
    AlreadyCredited,
    CurrencyMismatch,
    DomainError,
    InvalidAmount,
    NothingToReverse,
    TransitionNotAllowed,
)
from domain.money import Money, credits
from domain.payment import Payment, PaymentStatus
from domain.wallet import CreditMove, Move

pytestmark = pytest.mark.unit

PRICE = Money.of("10.00", "EUR")
RATE = Decimal("1.08")  # 10.80 MC
EVIDENCE = {"gateway_event_id": "evt_1"}
PAYMENT_ID = UUID(int=9)


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def pending() -> Payment:
    payment = Payment.initiate(PAYMENT_ID, "user-1", "stripe", "MCREF0009", PRICE, RATE)
    payment.collect_events()
    return payment


def confirmed() -> Payment:
    payment = pending()
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


def test_a_confirmation_moves_the_payments_credits_into_its_wallet() -> None:
    payment = pending()
    assert payment.wallet_moves() == []
    payment.confirm(PRICE, "paid", EVIDENCE)
    assert payment.wallet_moves() == [CreditMove(Move.TOP_UP, PAYMENT_ID, "stripe", credits("10.80"))]


def test_saved_events_move_nothing_more() -> None:
    payment = confirmed()
    assert payment.wallet_moves() == []


def test_refunds_disputes_and_won_disputes_move_what_they_take_and_give_back_in_order() -> None:
    payment = confirmed()
    payment.refund(Money.of("2.50", "EUR"), PRICE, "re_1", EVIDENCE)
    payment.dispute("dp_1:created", EVIDENCE, dispute_id="dp_1")
    payment.win_dispute("dp_1", "dp_1:won", EVIDENCE)
    assert payment.wallet_moves() == [
        CreditMove(Move.REVERSE, PAYMENT_ID, "stripe", credits("2.70"), "refunded: re_1"),
        CreditMove(Move.REVERSE, PAYMENT_ID, "stripe", credits("8.10"), "disputed: dp_1:created"),
        CreditMove(Move.REINSTATE, PAYMENT_ID, "stripe", credits("8.10"), "dispute_won: dp_1:won"),
    ]


def test_a_reversal_that_takes_nothing_moves_nothing() -> None:
    payment = confirmed()
    payment.dispute("d1", EVIDENCE, dispute_id="dp_1")
    payment.collect_events()
    payment.refund(PRICE, PRICE, "re_1", EVIDENCE)  # the dispute already took everything
    assert payment.wallet_moves() == []


def test_a_credited_payment_never_credits_again() -> None:
    payment = confirmed()
    payment.refund(PRICE, PRICE, "re_1", EVIDENCE)
    payment.collect_events()
    with pytest.raises(AlreadyCredited):
        payment.confirm(PRICE, "paid-again", EVIDENCE)
    assert payment.wallet_moves() == []


def test_a_state_that_disagrees_with_its_facts_moves_nothing() -> None:
    payment = confirmed()
    payment.credits_reversed = Decimal("11.00")  # more than the 10.80 it credited: never reached by its events
    with pytest.raises(NothingToReverse):
        payment.dispute("d1", EVIDENCE, dispute_id="dp_1")
    payment.credits_reversed = Decimal("-1.00")
    payment.disputes_won = {"dp_0"}
    with pytest.raises(NothingToReverse):
        payment.win_dispute("dp_1", "dp_1:won", EVIDENCE)
    assert payment.collect_events() == []


REVERSALS = st.lists(
    st.one_of(
        st.tuples(st.just("refund"), st.integers(min_value=1, max_value=1000)),
        st.tuples(st.sampled_from(["dispute", "win"]), st.sampled_from(["dp_1", "dp_2"])),
    ),
    max_size=12,
)


@given(REVERSALS)
def test_moves_never_take_back_more_than_credited_nor_give_back_more_than_taken(
    reversals: list[tuple[str, object]],
) -> None:
    payment = pending()
    payment.confirm(PRICE, "paid", EVIDENCE)
    standing, taken, given = Decimal(0), Decimal(0), Decimal(0)
    for number, (command, argument) in enumerate(reversals):
        with contextlib.suppress(DomainError):  # a refund that adds nothing is refused: nothing moves
            _reverse(payment, command, argument, f"k{number}")
        for move in payment.wallet_moves():
            amount = move.amount.amount
            standing += -amount if move.move is Move.REVERSE else amount
            taken += amount if move.move is Move.REVERSE else 0
            given += amount if move.move is Move.REINSTATE else 0
        payment.collect_events()
        assert Decimal(0) <= standing <= payment.credits
        assert given <= taken
        assert standing == payment.credits - payment.credits_reversed


def _reverse(payment: Payment, command: str, argument: object, key: str) -> None:
    if command == "refund":
        refunded = Money.from_minor(int(str(argument)), "EUR")
        payment.refund(refunded, PRICE, key, EVIDENCE)
    elif command == "dispute":
        payment.dispute(key, EVIDENCE, dispute_id=str(argument))
    else:
        payment.win_dispute(str(argument), key, EVIDENCE)
