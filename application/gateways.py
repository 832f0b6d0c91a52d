"""What crosses the gateway port: checkout requests, checkouts, verified gateway events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from domain.money import Money


@dataclass(frozen=True)
class CheckoutRequest:
    payment_id: UUID
    reference: str
    price: Money
    description: str
    customer_email: str | None = None


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
    IRRELEVANT = "irrelevant"


@dataclass(frozen=True)
class GatewayEvent:
    """A verified statement from a gateway about one payment, by its reference."""

    gateway: str
    outcome: Outcome
    reference: str | None
    key: str  # what makes two deliveries "the same thing" (the gateway object and outcome)
    paid: Money | None = None
    evidence: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayOffer:
    """How a gateway is offered to users."""

    name: str
    currencies: tuple[str, ...]
    min_amounts: Mapping[str, Decimal]
    demo: bool
