from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from domain.errors import AlreadyCredited, InvalidAmount, NothingToReverse
from domain.money import Money, credits
from domain.wallet import Wallet

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
    assert wallet.entries == []


def test_top_up_adds_credits_and_records_the_balance_after() -> None:
    wallet = new_wallet()
    wallet.top_up(FIRST, credits("18.50"))
    wallet.top_up(SECOND, credits("1.08"))
    assert wallet.balance == Decimal("19.58")
    assert [(e.kind, e.amount, e.payment_id, e.balance_after) for e in wallet.entries] == [
        ("top_up", Decimal("18.50"), FIRST, Decimal("18.50")),
        ("top_up", Decimal("1.08"), SECOND, Decimal("19.58")),
    ]
    assert [type(event).__name__ for event in wallet.collect_events()] == ["CreditsToppedUp", "CreditsToppedUp"]


def test_entry_timestamps_are_the_event_timestamps() -> None:
    wallet = new_wallet()
    wallet.top_up(FIRST, credits("10"))
    wallet.reverse(FIRST, credits("4"), "refund")
    events = wallet.collect_events()
    assert [entry.at for entry in wallet.entries] == [event.timestamp for event in events]


def test_a_payment_credits_a_wallet_only_once() -> None:
    wallet = new_wallet()
    wallet.top_up(FIRST, credits("10"))
    wallet.collect_events()
    version = wallet.version
    with pytest.raises(AlreadyCredited):
        wallet.top_up(FIRST, credits("10"))
    assert wallet.balance == Decimal("10.00")
    assert wallet.version == version
    assert wallet.collect_events() == []


@pytest.mark.parametrize("amount", [Money.of("10", "USD"), credits(0)])
def test_top_up_moves_only_positive_credits(amount: Money) -> None:
    wallet = new_wallet()
    with pytest.raises(InvalidAmount):
        wallet.top_up(FIRST, amount)
    assert wallet.balance == Decimal("0.00")
    assert wallet.collect_events() == []


def test_reverse_takes_back_credits_of_a_payment() -> None:
    wallet = new_wallet()
    wallet.top_up(FIRST, credits("10"))
    wallet.reverse(FIRST, credits("4.00"), "partial refund")
    assert wallet.balance == Decimal("6.00")
    last = wallet.entries[-1]
    assert (last.kind, last.amount, last.payment_id, last.balance_after) == (
        "reversal",
        Decimal("4.00"),
        FIRST,
        Decimal("6.00"),
    )
    reversed_event = wallet.collect_events()[-1]
    assert type(reversed_event).__name__ == "CreditsReversed"
    assert reversed_event.reason == "partial refund"  # type: ignore[attr-defined]


def test_partial_reversals_add_up_to_the_credited_amount_and_no_more() -> None:
    wallet = new_wallet()
    wallet.top_up(FIRST, credits("10"))
    wallet.reverse(FIRST, credits("4"), "refund")
    wallet.reverse(FIRST, credits("6"), "refund")
    wallet.collect_events()
    with pytest.raises(NothingToReverse):
        wallet.reverse(FIRST, credits("0.01"), "refund")
    assert wallet.balance == Decimal("0.00")
    assert wallet.collect_events() == []


def test_reverse_more_than_the_payment_credited_is_refused() -> None:
    wallet = new_wallet()
    wallet.top_up(FIRST, credits("10"))
    wallet.top_up(SECOND, credits("50"))
    wallet.collect_events()
    with pytest.raises(NothingToReverse):
        wallet.reverse(FIRST, credits("10.01"), "dispute")
    assert wallet.balance == Decimal("60.00")
    assert wallet.collect_events() == []


def test_reverse_a_payment_that_never_credited_is_refused() -> None:
    wallet = new_wallet()
    with pytest.raises(NothingToReverse):
        wallet.reverse(FIRST, credits("1"), "dispute")


@pytest.mark.parametrize("amount", [Money.of("1", "USD"), credits(0)])
def test_reverse_moves_only_positive_credits(amount: Money) -> None:
    wallet = new_wallet()
    wallet.top_up(FIRST, credits("10"))
    wallet.collect_events()
    with pytest.raises(InvalidAmount):
        wallet.reverse(FIRST, amount, "refund")
    assert wallet.collect_events() == []
