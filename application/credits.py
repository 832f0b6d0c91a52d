"""Moving credits in wallets as payments say."""

from __future__ import annotations

from typing import Protocol

from domain.payment import Payment
from domain.wallet import Wallet


class Wallets(Protocol):
    def wallet_of(self, user_id: str) -> Wallet | None: ...


class CreditService:
    """Moves a payment's credits in its owner's wallet; the caller saves the wallet with the payment."""

    def __init__(self, wallets: Wallets) -> None:
        self._wallets = wallets

    def move(self, payment: Payment) -> Wallet | None:
        """The owner's wallet (opened if new) with the moves of the payment's unsaved events taken, in order;
        None when they move nothing. Saved together, a racing writer of the same payment conflicts on its version."""
        moves = payment.wallet_moves()
        if not moves:
            return None
        wallet = self._wallets.wallet_of(payment.user_id) or Wallet(user_id=payment.user_id)
        for move in moves:
            wallet.move_credits(move)
        return wallet
