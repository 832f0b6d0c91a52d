"""The Payment aggregate: one top-up attempt and its lifecycle."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import TransitionNotAllowed
from domain.money import Money, credits_for


class PaymentStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    EXPIRED = "expired"
    REJECTED = "rejected"
    NEEDS_REVIEW = "needs_review"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


SETTLED = frozenset(PaymentStatus) - {PaymentStatus.PENDING}

Evidence = dict[str, str]


class Payment(Aggregate):
    """A user's attempt to buy credits through one gateway, at a locked rate."""

    @staticmethod
    def create_id(payment_id: UUID) -> UUID:
        return payment_id

    @event("PaymentInitiated")
    def __init__(
        self,
        payment_id: UUID,
        user_id: str,
        gateway: str,
        reference: str,
        amount: Decimal,
        currency: str,
        rate: Decimal,
        credits: Decimal,
    ) -> None:
        self.user_id = user_id
        self.gateway = gateway
        self.reference = reference
        self.amount = amount
        self.currency = currency
        self.rate = rate
        self.credits = credits
        self.status = PaymentStatus.PENDING
        self.payment_url: str | None = None
        self.checkout_id: str | None = None
        self.instructions: dict[str, str] = {}
        self.handled_keys: set[str] = set()
        self.status_reason: str | None = None

    @classmethod
    def initiate(
        cls, payment_id: UUID, user_id: str, gateway: str, reference: str, price: Money, rate: Decimal
    ) -> Payment:
        """Start a payment; the credits it will buy are fixed now, at `rate`."""
        return cls(
            payment_id=payment_id,
            user_id=user_id,
            gateway=gateway,
            reference=reference,
            amount=price.amount,
            currency=price.currency,
            rate=rate,
            credits=credits_for(price, rate).amount,
        )

    @property
    def price(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def is_pending(self) -> bool:
        return self.status is PaymentStatus.PENDING

    def has_handled(self, key: str) -> bool:
        return key in self.handled_keys

    def open_checkout(self, payment_url: str, checkout_id: str, instructions: dict[str, str]) -> None:
        """Record where the payer pays, and what they were told (e.g. bank details to quote)."""
        self._require(PaymentStatus.PENDING, action="open a checkout for")
        self._open_checkout(payment_url, checkout_id, instructions)

    @event("CheckoutOpened")
    def _open_checkout(self, payment_url: str, checkout_id: str, instructions: dict[str, str]) -> None:
        self.payment_url = payment_url
        self.checkout_id = checkout_id
        self.instructions = instructions

    def confirm(self, paid: Money, key: str, evidence: Evidence) -> None:
        """The gateway says the full price was paid: the payment now credits the wallet."""
        self._require(PaymentStatus.PENDING, action="confirm")
        if paid != self.price:
            raise TransitionNotAllowed(f"paid {paid} differs from the price {self.price}")
        self._confirm(paid.amount, paid.currency, key, evidence)

    @event("PaymentConfirmed")
    def _confirm(self, paid_amount: Decimal, paid_currency: str, key: str, evidence: Evidence) -> None:
        self.status = PaymentStatus.CONFIRMED
        self.handled_keys.add(key)

    def fail(self, reason: str, key: str, evidence: Evidence) -> None:
        self._require(PaymentStatus.PENDING, action="fail")
        self._fail(reason, key, evidence)

    @event("PaymentFailed")
    def _fail(self, reason: str, key: str, evidence: Evidence) -> None:
        self.status = PaymentStatus.FAILED
        self.status_reason = reason
        self.handled_keys.add(key)

    def expire(self, key: str, evidence: Evidence) -> None:
        self._require(PaymentStatus.PENDING, action="expire")
        self._expire(key, evidence)

    @event("PaymentExpired")
    def _expire(self, key: str, evidence: Evidence) -> None:
        self.status = PaymentStatus.EXPIRED
        self.handled_keys.add(key)

    def flag_for_review(self, reason: str, paid: Money | None, key: str, evidence: Evidence) -> None:
        """Money arrived that does not match what was initiated: no credit until an admin decides."""
        if self.status not in (PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED):
            raise TransitionNotAllowed(f"cannot flag a {self.status} payment for review")
        self._flag_for_review(
            reason,
            None if paid is None else paid.amount,
            None if paid is None else paid.currency,
            key,
            evidence,
        )

    @event("PaymentFlaggedForReview")
    def _flag_for_review(
        self,
        reason: str,
        paid_amount: Decimal | None,
        paid_currency: str | None,
        key: str,
        evidence: Evidence,
    ) -> None:
        self.status = PaymentStatus.NEEDS_REVIEW
        self.status_reason = reason
        self.handled_keys.add(key)

    def ignore(self, reason: str, key: str, evidence: Evidence) -> None:
        """Record a valid gateway event that may not change this payment (e.g. a late expiry)."""
        self._ignore(reason, key, evidence)

    @event("GatewayEventIgnored")
    def _ignore(self, reason: str, key: str, evidence: Evidence) -> None:
        self.handled_keys.add(key)

    def _require(self, status: PaymentStatus, action: str) -> None:
        if self.status is not status:
            raise TransitionNotAllowed(f"cannot {action} a {self.status} payment")

    def __repr__(self) -> str:
        return f"Payment({self.id}, {self.reference}, {self.status})"
