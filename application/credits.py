"""Moving credits in wallets as settlements say."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from eventsourcing.persistence import IntegrityError

from application.settlement import Move, Settlement
from domain.errors import AlreadyCredited, NothingToReverse
from domain.money import Money, credits
from domain.payment import Payment
from domain.wallet import Wallet


class Wallets(Protocol):
    def wallet_of(self, user_id: str) -> Wallet | None: ...


class CreditService:
    """Moves a payment's credits in its owner's wallet; the caller saves the wallet with what caused the move."""

    def __init__(self, wallets: Wallets) -> None:
        self._wallets = wallets

    def move(self, payment: Payment, settlements: Sequence[Settlement]) -> Wallet | None:
        """The owner's wallet (opened if new) with every settlement's credits moved, in order; None: none move."""
        moving = [settlement for settlement in settlements if settlement.moves_credits]
        if not moving:
            return None
        wallet = self._wallets.wallet_of(payment.user_id) or Wallet(user_id=payment.user_id)
        for settlement in moving:
            amount = credits(settlement.credits)
            try:
                self._move(wallet, payment, settlement, amount)
            except (AlreadyCredited, NothingToReverse):
                # A racing writer moved this payment's credits after we read the payment (and before we read
                # the wallet): the two disagree, so read both again.
                raise IntegrityError(f"payment {payment.id} was settled concurrently") from None
        return wallet

    @staticmethod
    def _move(wallet: Wallet, payment: Payment, settlement: Settlement, amount: Money) -> None:
        reason = f"{settlement.outcome}: {settlement.key}"
        if settlement.move is Move.TOP_UP:
            wallet.top_up(payment.id, amount)
        elif settlement.move is Move.REVERSE:
            wallet.reverse(payment.id, amount, reason)
        else:
            wallet.reinstate(payment.id, amount, reason)
