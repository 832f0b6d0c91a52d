"""The Wallet aggregate: a user's balance of Mycelium Credits."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError, InvalidAmount
from domain.money import CREDITS, Money, credits
from domain.names import named_id
from domain.spend import InsufficientFunds, InvalidSpend, SpendOrder

WALLET_NAMESPACE = uuid5(NAMESPACE_URL, "mcpay:wallet")


class Move(StrEnum):
    TOP_UP = "top_up"
    REVERSE = "reverse"
    REINSTATE = "reinstate"


@dataclass(frozen=True)
class CreditMove:
    """Credits that one payment moves in its owner's wallet; the payment decides what it may move. `gateway`: the
    payment's, whose account the credits come from or go back to."""

    move: Move
    payment_id: UUID
    gateway: str
    amount: Money
    reason: str = ""


class Wallet(Aggregate):
    """One wallet per user; every change names the payment that caused it.

    Its state is its balance alone, however long its history: what each payment may still move (credited
    once, never more taken back than credited, never more given back than taken) is kept by the payment,
    which is saved with every move it causes (`Payment.wallet_moves`). Movements are read from the read model.

    A top-up, a reversal and a reinstatement name the payment's gateway, the other account of the move in double
    entry, so that replay reads the wallets' events alone (ADR 65). Those recorded before they did have no
    `gateway` (it reads None): their payment's `PaymentInitiated` names it.
    """

    @staticmethod
    def create_id(user_id: str) -> UUID:
        return named_id(WALLET_NAMESPACE, user_id)

    @event("WalletOpened")
    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.balance = Decimal("0.00")

    @property
    def balance_credits(self) -> Money:
        return credits(self.balance)

    def move_credits(self, move: CreditMove) -> None:
        """Take one of a payment's moves."""
        if move.move is Move.TOP_UP:
            self.top_up(move.payment_id, move.amount, gateway=move.gateway)
        elif move.move is Move.REVERSE:
            self.reverse(move.payment_id, move.amount, move.reason, gateway=move.gateway)
        else:
            self.reinstate(move.payment_id, move.amount, move.reason, gateway=move.gateway)

    def top_up(self, payment_id: UUID, amount: Money, *, gateway: str) -> None:
        """Credit a confirmed payment, paid through `gateway`."""
        self._require_credits(amount)
        self._require_gateway(gateway)
        self.trigger_event(
            self.CreditsToppedUp,
            payment_id=payment_id,
            amount=amount.amount,
            balance_after=self.balance + amount.amount,
            gateway=gateway,
        )

    class CreditsToppedUp(Aggregate.Event):
        payment_id: UUID
        amount: Decimal
        balance_after: Decimal
        gateway: str | None = None  # None: recorded before top-ups named it

        def apply(self, aggregate: Aggregate) -> None:
            _wallet(aggregate, self).balance = self.balance_after

    def reverse(self, payment_id: UUID, amount: Money, reason: str, *, gateway: str) -> None:
        """Take back credits of a refunded or disputed payment (the balance may go below zero: a debt)."""
        self._require_credits(amount)
        self._require_gateway(gateway)
        self.trigger_event(
            self.CreditsReversed,
            payment_id=payment_id,
            amount=amount.amount,
            reason=reason,
            balance_after=self.balance - amount.amount,
            gateway=gateway,
        )

    class CreditsReversed(Aggregate.Event):
        payment_id: UUID
        amount: Decimal
        reason: str
        balance_after: Decimal
        gateway: str | None = None  # None: recorded before reversals named it

        def apply(self, aggregate: Aggregate) -> None:
            _wallet(aggregate, self).balance = self.balance_after

    def reinstate(self, payment_id: UUID, amount: Money, reason: str, *, gateway: str) -> None:
        """Give back credits that a reversal took (a dispute decided for us)."""
        self._require_credits(amount)
        self._require_gateway(gateway)
        self.trigger_event(
            self.CreditsReinstated,
            payment_id=payment_id,
            amount=amount.amount,
            reason=reason,
            balance_after=self.balance + amount.amount,
            gateway=gateway,
        )

    class CreditsReinstated(Aggregate.Event):
        payment_id: UUID
        amount: Decimal
        reason: str
        balance_after: Decimal
        gateway: str | None = None  # None: recorded before reinstatements named it

        def apply(self, aggregate: Aggregate) -> None:
            _wallet(aggregate, self).balance = self.balance_after

    def spend(self, order: SpendOrder, signature: str) -> None:
        """Move credits to a payee, as the owner signed; only what the balance covers (never into debt)."""
        if order.user_id != self.user_id:
            raise InvalidSpend(f"a spend by {order.user_id} cannot come out of {self.user_id}'s wallet")
        self._require_credits(order.amount)
        if self.balance < order.amount.amount:
            raise InsufficientFunds(f"the balance of {self.balance} {CREDITS} does not cover {order.amount}")
        self.trigger_event(
            self.CreditsSpent,
            spend_id=order.spend_id,
            payee=order.payee,
            order_id=order.order_id,
            amount=order.amount.amount,
            memo=order.memo,
            signed_at=order.signed_at,
            message=order.message().decode(),
            signature=signature,
            balance_after=self.balance - order.amount.amount,
        )

    class CreditsSpent(Aggregate.Event):
        """Credits moved to a payee. `message` is what the owner signed (canonical JSON) and `signature` their
        ed25519 signature of it: an auditor checks the spend against the wallet owner's key alone."""

        spend_id: UUID
        payee: str
        order_id: str
        amount: Decimal
        memo: str
        signed_at: str
        message: str
        signature: str
        balance_after: Decimal

        def apply(self, aggregate: Aggregate) -> None:
            _wallet(aggregate, self).balance = self.balance_after

    @staticmethod
    def _require_gateway(gateway: str) -> None:
        if not gateway:
            raise DomainError("a move of a payment's credits names the payment's gateway")

    @staticmethod
    def _require_credits(amount: Money) -> None:
        if amount.currency != CREDITS or amount.amount <= 0:
            raise InvalidAmount(f"a wallet moves positive amounts of {CREDITS}, not {amount}")


def _wallet(aggregate: Aggregate, applied: Aggregate.Event) -> Wallet:
    if not isinstance(aggregate, Wallet):
        raise TypeError(f"{type(applied).__name__} applies to a Wallet")
    return aggregate
