"""The Wallet aggregate: a user's balance of Mycelium Credits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyCredited, InvalidAmount, NothingToReverse
from domain.money import CREDITS, Money, credits

WALLET_NAMESPACE = uuid5(NAMESPACE_URL, "mcpay:wallet")


@dataclass(frozen=True)
class WalletEntry:
    kind: str  # "top_up", "reversal" or "reinstatement"
    amount: Decimal
    payment_id: UUID
    at: datetime
    balance_after: Decimal


class Wallet(Aggregate):
    """One wallet per user; every change names the payment that caused it."""

    @staticmethod
    def create_id(user_id: str) -> UUID:
        return uuid5(WALLET_NAMESPACE, user_id)

    @event("WalletOpened")
    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.balance = Decimal("0.00")
        self.entries: list[WalletEntry] = []
        self.credited: dict[UUID, Decimal] = {}
        self.reversed: dict[UUID, Decimal] = {}

    @property
    def balance_credits(self) -> Money:
        return credits(self.balance)

    def top_up(self, payment_id: UUID, amount: Money) -> None:
        """Credit a confirmed payment; a payment credits at most once."""
        self._require_credits(amount)
        if payment_id in self.credited:
            raise AlreadyCredited(f"payment {payment_id} was already credited")
        self.trigger_event(
            self.CreditsToppedUp,
            payment_id=payment_id,
            amount=amount.amount,
            balance_after=self.balance + amount.amount,
        )

    class CreditsToppedUp(Aggregate.Event):
        payment_id: UUID
        amount: Decimal
        balance_after: Decimal

        def apply(self, aggregate: Aggregate) -> None:
            if not isinstance(aggregate, Wallet):
                raise TypeError(f"{type(self).__name__} applies to a Wallet")
            aggregate.balance = self.balance_after
            aggregate.credited[self.payment_id] = self.amount
            aggregate.entries.append(
                WalletEntry("top_up", self.amount, self.payment_id, self.timestamp, self.balance_after)
            )

    def reverse(self, payment_id: UUID, amount: Money, reason: str) -> None:
        """Take back credits of a refunded or disputed payment, never more than it credited."""
        self._require_credits(amount)
        remaining = self.credited.get(payment_id, Decimal(0)) - self.reversed.get(payment_id, Decimal(0))
        if amount.amount > remaining:
            raise NothingToReverse(f"payment {payment_id} has only {remaining} MC left to reverse")
        self.trigger_event(
            self.CreditsReversed,
            payment_id=payment_id,
            amount=amount.amount,
            reason=reason,
            balance_after=self.balance - amount.amount,
        )

    class CreditsReversed(Aggregate.Event):
        payment_id: UUID
        amount: Decimal
        reason: str
        balance_after: Decimal

        def apply(self, aggregate: Aggregate) -> None:
            if not isinstance(aggregate, Wallet):
                raise TypeError(f"{type(self).__name__} applies to a Wallet")
            aggregate.balance = self.balance_after
            aggregate.reversed[self.payment_id] = aggregate.reversed.get(self.payment_id, Decimal(0)) + self.amount
            aggregate.entries.append(
                WalletEntry("reversal", self.amount, self.payment_id, self.timestamp, self.balance_after)
            )

    def reinstate(self, payment_id: UUID, amount: Money, reason: str) -> None:
        """Give back credits that a reversal took (a dispute decided for us), never more than it took."""
        self._require_credits(amount)
        taken = self.reversed.get(payment_id, Decimal(0))
        if amount.amount > taken:
            raise NothingToReverse(f"payment {payment_id} has only {taken} MC reversed to give back")
        self.trigger_event(
            self.CreditsReinstated,
            payment_id=payment_id,
            amount=amount.amount,
            reason=reason,
            balance_after=self.balance + amount.amount,
        )

    class CreditsReinstated(Aggregate.Event):
        payment_id: UUID
        amount: Decimal
        reason: str
        balance_after: Decimal

        def apply(self, aggregate: Aggregate) -> None:
            if not isinstance(aggregate, Wallet):
                raise TypeError(f"{type(self).__name__} applies to a Wallet")
            aggregate.balance = self.balance_after
            aggregate.reversed[self.payment_id] -= self.amount
            aggregate.entries.append(
                WalletEntry("reinstatement", self.amount, self.payment_id, self.timestamp, self.balance_after)
            )

    @staticmethod
    def _require_credits(amount: Money) -> None:
        if amount.currency != CREDITS or amount.amount <= 0:
            raise InvalidAmount(f"a wallet moves positive amounts of {CREDITS}, not {amount}")
