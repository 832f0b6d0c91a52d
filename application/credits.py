"""Moving credits in wallets as settlements say."""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.persistence import IntegrityError

from application.ledger import Ledger
from application.settlement import Move, Settlement
from domain.errors import AlreadyCredited
from domain.money import credits
from domain.payment import Payment
from domain.wallet import Wallet


class CreditService:
    """Moves a payment's credits in its owner's wallet; the caller saves the wallet with what caused the move."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def move(self, payment: Payment, settlements: Sequence[Settlement]) -> Wallet | None:
        """The owner's wallet (opened if new) with every settlement's credits moved, in order; None: none move."""
        moving = [settlement for settlement in settlements if settlement.moves_credits]
        if not moving:
            return None
        wallet = self._ledger.wallet_of(payment.user_id) or Wallet(user_id=payment.user_id)
        for settlement in moving:
            amount = credits(settlement.credits)
            if settlement.move is Move.TOP_UP:
                try:
                    wallet.top_up(payment.id, amount)
                except AlreadyCredited:
                    # A racing writer confirmed and credited it after we read the payment: read both again.
                    raise IntegrityError(f"payment {payment.id} was settled concurrently") from None
            elif settlement.move is Move.REVERSE:
                wallet.reverse(payment.id, amount, f"{settlement.outcome}: {settlement.key}")
            else:
                wallet.reinstate(payment.id, amount, f"{settlement.outcome}: {settlement.key}")
        return wallet
