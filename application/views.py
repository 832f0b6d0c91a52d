"""Read models handed to the edges: plain values, never aggregates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from domain.approval import AdminApproval
from domain.payment import HeldEvent, Payment


@dataclass(frozen=True)
class PaymentView:
    payment_id: UUID
    user_id: str
    reference: str
    gateway: str
    status: str
    amount: Decimal
    currency: str
    credits: Decimal
    payment_url: str | None
    created_at: datetime
    updated_at: datetime
    instructions: Mapping[str, str] = field(default_factory=dict)
    status_reason: str | None = None
    checkout_id: str | None = None  # the gateway's own id for the checkout (Stripe: the session id)
    awaits_admin: bool = False
    approvals: tuple[AdminApproval, ...] = ()  # admin confirmations that count now, one per admin
    paid_object: str | None = None  # the gateway's object that paid it (Stripe: the payment intent)
    held: tuple[HeldEvent, ...] = ()  # gateway news kept for an admin, not applied
    needs_attention: bool = False  # some of `held` is not acknowledged yet

    @classmethod
    def of(cls, payment: Payment) -> PaymentView:
        return cls(
            payment_id=payment.id,
            user_id=payment.user_id,
            reference=payment.reference,
            gateway=payment.gateway,
            status=str(payment.status),
            amount=payment.amount,
            currency=payment.currency,
            credits=payment.credits,
            payment_url=payment.payment_url,
            created_at=payment.created_on,
            updated_at=payment.modified_on,
            instructions=dict(payment.instructions),
            status_reason=payment.status_reason,
            checkout_id=payment.checkout_id,
            awaits_admin=payment.awaits_admin,
            approvals=tuple(payment.approvals),
            paid_object=payment.paid_object,
            held=tuple(payment.held),
            needs_attention=payment.needs_attention,
        )


@dataclass(frozen=True)
class SpendDetails:
    """What a spend names beyond its amount: the payee, the order and what its owner signed."""

    spend_id: UUID
    payee: str
    order_id: str
    memo: str
    signed_at: str  # as the owner wrote it (the signature covers these characters)


@dataclass(frozen=True)
class WalletEntry:
    """One movement of a wallet's credits, as the read model holds it."""

    kind: str  # "top_up", "reversal", "reinstatement" (each names its payment) or "spend" (its spend)
    amount: Decimal
    payment_id: UUID | None
    at: datetime
    balance_after: Decimal
    spend: SpendDetails | None = None


@dataclass(frozen=True)
class SpendView:
    """A recorded spend: its owner, amount, when it was recorded and the balance it left."""

    user_id: str
    amount: Decimal
    at: datetime  # the CreditsSpent event's timestamp
    balance_after: Decimal
    details: SpendDetails


@dataclass(frozen=True)
class PayeeView:
    payee: str
    balance: Decimal
    spends: int


@dataclass(frozen=True)
class DebtView:
    """A wallet below zero (credits reversed after they were spent) and since when."""

    user_id: str
    balance: Decimal
    since: datetime | None


@dataclass(frozen=True)
class WalletView:
    user_id: str
    balance: Decimal
    entries: tuple[WalletEntry, ...]

    @classmethod
    def empty(cls, user_id: str) -> WalletView:
        return cls(user_id, Decimal("0.00"), ())
