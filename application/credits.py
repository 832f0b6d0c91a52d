"""Crediting wallets."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from application.ledger import Ledger
from domain.money import Money, credits
from domain.wallet import Wallet


class CreditService:
    """Adds credits to a user's wallet; the caller saves the wallet with what caused the credit."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def top_up(self, user_id: str, amount: Money, reference: UUID) -> Wallet:
        """The user's wallet (opened if new) with `amount` credited for payment `reference`."""
        wallet = self._ledger.wallet_of(user_id) or Wallet(user_id=user_id)
        wallet.top_up(reference, amount)
        return wallet

    def reverse(self, user_id: str, amount: Money, reference: UUID, reason: str) -> Wallet | None:
        """The user's wallet with `amount` taken back for payment `reference`, capped at what that payment
        credited and not yet reversed; None when nothing is left to take back."""
        wallet = self._ledger.wallet_of(user_id)
        if wallet is None:
            return None
        remaining = wallet.credited.get(reference, Decimal(0)) - wallet.reversed.get(reference, Decimal(0))
        taken = min(amount.amount, remaining)
        if taken <= 0:
            return None
        wallet.reverse(reference, credits(taken), reason)
        return wallet
