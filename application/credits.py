"""Crediting wallets."""

from __future__ import annotations

from uuid import UUID

from application.ledger import Ledger
from domain.money import Money
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
