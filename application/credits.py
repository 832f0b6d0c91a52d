"""Moving credits in wallets as payments say."""

from __future__ import annotations

from application.ledger import Ledger
from domain.payment import Payment
from domain.wallet import Wallet


class CreditService:
    """Moves a payment's credits in its owner's wallet; the caller saves the wallet with the payment."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def move(self, payment: Payment) -> Wallet | None:
        """The owner's wallet (opened if new) with the moves of the payment's unsaved events taken, in order;
        None when they move nothing. Saved together, a racing writer of the same payment conflicts on its version."""
        moves = payment.wallet_moves()
        if not moves:
            return None
        wallet = self._ledger.wallet_of(payment.user_id) or Wallet(user_id=payment.user_id)
        for move in moves:
            wallet.move_credits(move)
        return wallet
