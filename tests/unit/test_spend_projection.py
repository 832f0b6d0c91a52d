"""What a projected batch says of debts and payees: since when a wallet is below zero, what each payee received."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from application.projection import PayeeTotal, ProjectedBatch, WalletMovement
from application.views import SpendDetails, WalletEntry

pytestmark = pytest.mark.unit

WALLET = UUID(int=1)
START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def moved(position: int, kind: str, amount: str, after: str, payee: str | None = None) -> WalletMovement:
    spend = None if payee is None else SpendDetails(UUID(int=100 + position), payee, f"o{position}", "", "")
    payment = None if payee is not None else UUID(int=200 + position)
    at = START + timedelta(minutes=position)
    return WalletMovement(position, WALLET, WalletEntry(kind, Decimal(amount), payment, at, Decimal(after), spend))


def batch(*movements: WalletMovement) -> ProjectedBatch:
    return ProjectedBatch(0, movements[-1].position, movements=movements)


def test_a_wallet_that_goes_below_zero_is_in_debt_from_that_movement() -> None:
    (balance,) = batch(moved(1, "top_up", "5.00", "5.00"), moved(2, "reversal", "8.00", "-3.00")).balances()

    assert (balance.last.entry.balance_after, balance.debt_from, balance.debt_restarted) == (
        Decimal("-3.00"),
        START + timedelta(minutes=2),
        True,
    )


def test_a_debt_that_goes_on_keeps_the_time_it_started() -> None:
    (balance,) = batch(moved(1, "reversal", "8.00", "-3.00"), moved(2, "reversal", "1.00", "-4.00")).balances()

    assert (balance.debt_from, balance.debt_restarted) == (START + timedelta(minutes=1), False)  # may be older


def test_a_debt_paid_within_the_batch_is_none() -> None:
    (balance,) = batch(moved(1, "reversal", "8.00", "-3.00"), moved(2, "top_up", "3.00", "0.00")).balances()

    assert balance.debt_from is None


def test_each_payee_gets_the_sum_and_count_of_its_spends_in_the_batch() -> None:
    movements = batch(
        moved(1, "spend", "2.00", "8.00", "cafe"),
        moved(2, "top_up", "5.00", "13.00"),
        moved(3, "spend", "3.50", "9.50", "cafe"),
        moved(4, "spend", "1.00", "8.50", "books"),
    )

    assert sorted(movements.payees(), key=lambda total: total.payee) == [
        PayeeTotal("books", Decimal("1.00"), 1),
        PayeeTotal("cafe", Decimal("5.50"), 2),
    ]
