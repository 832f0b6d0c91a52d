"""What crosses the gateway port: checkout requests, checkouts, verified gateway events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from domain.money import Money

GATEWAY_NAMES = ("stripe", "clickpesa", "bank")


@dataclass(frozen=True)
class CheckoutRequest:
    payment_id: UUID
    reference: str
    price: Money
    description: str
    customer_email: str | None = None
    customer_name: str | None = None
    # The wallet the payment credits: a gateway that echoes it back in its events (Stripe: the metadata) lets the
    # writer read it with the payment, in one query.
    wallet_id: UUID | None = None


@dataclass(frozen=True)
class Checkout:
    payment_url: str
    checkout_id: str
    instructions: Mapping[str, str] = field(default_factory=dict)


class Outcome(StrEnum):
    PAID = "paid"
    PENDING = "pending"
    FAILED = "failed"
    EXPIRED = "expired"
    REFUNDED = "refunded"  # part or all of a paid charge was given back (amounts are cumulative)
    DISPUTED = "disputed"  # the payer disputed the charge
    DISPUTE_WON = "dispute_won"  # a dispute was decided for us: what it took comes back
    IRRELEVANT = "irrelevant"


@dataclass(frozen=True)
class GatewayEvent:
    """A verified statement from a gateway about one payment, by its reference or its gateway object."""

    gateway: str
    outcome: Outcome
    reference: str | None
    key: str  # what makes two deliveries "the same thing" (the gateway object and outcome)
    paid: Money | None = None  # for REFUNDED: what the refunded charge was for
    evidence: Mapping[str, str] = field(default_factory=dict)
    # The gateway's own object that was paid (Stripe: the payment intent): linked to the payment when it is
    # confirmed, and the only way refunds and disputes (which carry no reference) find their payment.
    gateway_object: str | None = None
    refunded: Money | None = None  # for REFUNDED: the total refunded so far
    dispute: str | None = None  # for DISPUTED and DISPUTE_WON: the gateway's dispute
    # What the gateway says identifies the payment besides its reference (Stripe: the session and its
    # metadata): an event whose objects are not the payment's own credits nothing.
    checkout_id: str | None = None
    payment_id: str | None = None
    wallet_id: str | None = None  # the wallet the gateway says the payment credits: only what is read early
    # Why this verified event cannot be about any payment of ours (e.g. another Stripe mode): recorded only.
    foreign: str | None = None

    @property
    def takes_back(self) -> bool:
        """A refund or a dispute, or a dispute's end: news about money already paid."""
        return self.outcome in REVERSALS


REVERSALS = frozenset({Outcome.REFUNDED, Outcome.DISPUTED, Outcome.DISPUTE_WON})


@dataclass(frozen=True)
class GatewayOffer:
    """How a gateway is offered to users."""

    name: str
    currencies: tuple[str, ...]
    min_amounts: Mapping[str, Decimal]
    demo: bool
    max_amounts: Mapping[str, Decimal] = field(default_factory=dict)  # the gateway's own limit, where it has one
