from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from domain.errors import DomainError, InvalidAmount
from domain.money import Money, credits
from domain.wallet import CreditMove, Move, Wallet

pytestmark = pytest.mark.unit

FIRST = UUID(int=1)
SECOND = UUID(int=2)


def new_wallet() -> Wallet:
    wallet = Wallet(user_id="user-1")
    wallet.collect_events()
    return wallet


def test_a_wallet_is_identified_by_its_user() -> None:
    assert new_wallet().id == Wallet.create_id("user-1")
    assert Wallet.create_id("user-1") != Wallet.create_id("user-2")


def test_a_new_wallet_is_empty() -> None:
    wallet = new_wallet()
    assert wallet.balance == Decimal("0.00")
    assert wallet.balance_credits == credits(0)


def test_top_up_adds_credits_and_records_the_balance_after() -> None:
    wallet = new_wallet()
    wallet.top_up(FIRST, credits("18.50"), gateway="stripe")
    wallet.top_up(SECOND, credits("1.08"), gateway="stripe")
    assert wallet.balance == Decimal("19.58")
    events = wallet.collect_events()
    assert [(type(e).__name__, e.payment_id, e.amount, e.balance_after) for e in events] == [  # type: ignore[attr-defined]
        ("CreditsToppedUp", FIRST, Decimal("18.50"), Decimal("18.50")),
        ("CreditsToppedUp", SECOND, Decimal("1.08"), Decimal("19.58")),
    ]


def test_the_state_is_the_balance_alone_however_long_the_history() -> None:
    wallet = new_wallet()
    for number in range(50):
        wallet.top_up(UUID(int=number), credits("1.00"), gateway="stripe")
    wallet.reverse(FIRST, credits("0.50"), "refunded: r1", gateway="stripe")
    assert wallet.balance == Decimal("49.50")
    assert set(vars(wallet)) == {
        "_id",
        "_version",
        "_created_on",
        "_modified_on",
        "_pending_events",
        "user_id",
        "balance",
    }


@pytest.mark.parametrize("amount", [Money.of("10", "USD"), credits(0)])
def test_top_up_moves_only_positive_credits(amount: Money) -> None:
    wallet = new_wallet()
    with pytest.raises(InvalidAmount):
        wallet.top_up(FIRST, amount, gateway="stripe")
    assert wallet.balance == Decimal("0.00")
    assert wallet.collect_events() == []


def test_reverse_takes_back_credits_of_a_payment_and_may_leave_a_debt() -> None:
    wallet = new_wallet()
    wallet.top_up(FIRST, credits("10"), gateway="stripe")
    wallet.reverse(FIRST, credits("4.00"), "partial refund", gateway="stripe")
    wallet.reverse(SECOND, credits("7.00"), "disputed: d1", gateway="stripe")
    assert wallet.balance == Decimal("-1.00")
    events = wallet.collect_events()
    assert [(type(e).__name__, e.balance_after) for e in events[1:]] == [  # type: ignore[attr-defined]
        ("CreditsReversed", Decimal("6.00")),
        ("CreditsReversed", Decimal("-1.00")),
    ]
    assert events[1].reason == "partial refund"  # type: ignore[attr-defined]


@pytest.mark.parametrize("amount", [Money.of("1", "USD"), credits(0)])
def test_reverse_and_reinstate_move_only_positive_credits(amount: Money) -> None:
    wallet = new_wallet()
    wallet.top_up(FIRST, credits("10"), gateway="stripe")
    wallet.collect_events()
    with pytest.raises(InvalidAmount):
        wallet.reverse(FIRST, amount, "refund", gateway="stripe")
    with pytest.raises(InvalidAmount):
        wallet.reinstate(FIRST, amount, "dispute won", gateway="stripe")
    assert wallet.collect_events() == []


def test_a_payments_moves_are_taken_in_order() -> None:
    wallet = new_wallet()
    wallet.move_credits(CreditMove(Move.TOP_UP, FIRST, "clickpesa", credits("10")))
    wallet.move_credits(CreditMove(Move.REVERSE, FIRST, "clickpesa", credits("10"), "disputed: d1"))
    wallet.move_credits(CreditMove(Move.REINSTATE, FIRST, "clickpesa", credits("10"), "dispute_won: d1"))
    events = wallet.collect_events()
    assert [(type(e).__name__, getattr(e, "reason", ""), e.gateway) for e in events] == [  # type: ignore[attr-defined]
        ("CreditsToppedUp", "", "clickpesa"),
        ("CreditsReversed", "disputed: d1", "clickpesa"),
        ("CreditsReinstated", "dispute_won: d1", "clickpesa"),
    ]
    assert wallet.balance == Decimal("10.00")


@pytest.mark.parametrize("move", [Move.TOP_UP, Move.REVERSE, Move.REINSTATE])
def test_a_move_names_its_payments_gateway(move: Move) -> None:
    wallet = new_wallet()
    with pytest.raises(DomainError, match="names the payment's gateway"):
        wallet.move_credits(CreditMove(move, FIRST, "", credits("1.00"), "why"))
    assert wallet.collect_events() == []
