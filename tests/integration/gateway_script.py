"""Scripts of Stripe deliveries about a few payments, and a model of what each must do.

A script is a list of deliveries: new Stripe events (paid, paid again through another event object or
another checkout session, pending, failed, expired, cumulative refunds, disputes, mismatched amounts,
events mcpay does not act on) and redeliveries of earlier bodies, byte for byte. `LedgerModel` says,
from DESIGN.md and ADRs 3, 13 and 20 alone, what each delivery must answer and what it leaves behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Any

from hypothesis import strategies as st

from application.payments import TopUpOrder

ALICE = "a" * 64
BOB = "b" * 64
STRIPE_UNITS = 100  # every currency used here has two decimals at Stripe


@dataclass(frozen=True)
class Order:
    user_id: str
    amount: str
    currency: str
    credits: Decimal  # amount x CREDIT_RATES, rounded down

    @property
    def top_up(self) -> TopUpOrder:
        return TopUpOrder(self.amount, self.currency, "stripe")

    @property
    def units(self) -> int:
        return int(Decimal(self.amount) * STRIPE_UNITS)


ORDERS = (
    Order(ALICE, "25.00", "USD", Decimal("25.00")),
    Order(ALICE, "9.99", "EUR", Decimal("10.78")),  # 9.99 x 1.08 = 10.7892
    Order(BOB, "10000.00", "TZS", Decimal("3.70")),  # 10000 x 0.00037
)


class Kind(StrEnum):
    PAID = "paid"
    PENDING = "pending"  # checkout completed, a delayed method not yet paid
    FAILED = "failed"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    DISPUTED = "disputed"
    IRRELEVANT = "irrelevant"


class Paid(StrEnum):
    EXACT = "exact"
    LESS = "less"
    MORE = "more"
    OTHER_CURRENCY = "other_currency"  # a currency mcpay takes, not the payment's
    UNKNOWN_CURRENCY = "unknown_currency"  # a currency mcpay does not take at all


# Cumulative refunds as fractions of the charge; the last one is more than was charged.
REFUND_STEPS: tuple[Callable[[int], int], ...] = (
    lambda units: units // 10,
    lambda units: units // 3,
    lambda units: units // 2,
    lambda units: units * 9 // 10,
    lambda units: units,
    lambda units: units + 1,
)


@dataclass(frozen=True)
class Delivery:
    """A new Stripe event about payment `payment` (an index into ORDERS)."""

    payment: int
    kind: Kind
    session: int = 0  # which checkout session (and its payment intent and charge) of that payment
    async_type: bool = False  # paid: checkout.session.async_payment_succeeded rather than .completed
    paid: Paid = Paid.EXACT
    refund_step: int = 0
    dispute: int = 0  # which dispute object

    def session_id(self) -> str:
        return f"cs_test_{self.payment}_{self.session}"

    def intent(self) -> str:
        return f"pi_test_{self.payment}_{self.session}"

    def charge_id(self) -> str:
        return f"ch_test_{self.payment}_{self.session}"

    def refunded_units(self) -> int:
        return REFUND_STEPS[self.refund_step](ORDERS[self.payment].units)

    def stripe_event(self, event_id: str, reference: str) -> dict[str, Any]:
        kind, obj = self._typed_object(reference)
        return {"id": event_id, "object": "event", "type": kind, "livemode": False, "data": {"object": obj}}

    def _typed_object(self, reference: str) -> tuple[str, dict[str, Any]]:
        order = ORDERS[self.payment]
        currency = order.currency.lower()
        if self.kind is Kind.REFUNDED:
            charge = {"id": self.charge_id(), "object": "charge", "amount": order.units, "currency": currency}
            return "charge.refunded", {
                **charge,
                "amount_refunded": self.refunded_units(),
                "payment_intent": self.intent(),
            }
        if self.kind is Kind.DISPUTED:
            return "charge.dispute.created", {
                "id": f"dp_test_{self.payment}_{self.session}_{self.dispute}",
                "object": "dispute",
                "amount": order.units,
                "currency": currency,
                "charge": self.charge_id(),
                "payment_intent": self.intent(),
                "reason": "fraudulent",
            }
        if self.kind is Kind.IRRELEVANT:
            return "payment_intent.created", {"id": self.intent(), "object": "payment_intent"}
        return self._session_event(reference)

    def _session_event(self, reference: str) -> tuple[str, dict[str, Any]]:
        units, currency = self._paid_amount()
        session = {
            "id": self.session_id(),
            "object": "checkout.session",
            "amount_total": units,
            "currency": currency,
            "client_reference_id": reference,
            "payment_intent": self.intent(),
            "payment_status": "paid" if self.kind is Kind.PAID else "unpaid",
            "status": "expired" if self.kind is Kind.EXPIRED else "complete",
        }
        kind = {
            Kind.PAID: "checkout.session.async_payment_succeeded" if self.async_type else "checkout.session.completed",
            Kind.PENDING: "checkout.session.completed",
            Kind.FAILED: "checkout.session.async_payment_failed",
            Kind.EXPIRED: "checkout.session.expired",
        }[self.kind]
        return kind, session

    def _paid_amount(self) -> tuple[int, str]:
        order = ORDERS[self.payment]
        units, currency = order.units, order.currency.lower()
        if self.kind is not Kind.PAID or self.paid is Paid.EXACT:
            return units, currency
        if self.paid is Paid.LESS:
            return units - 1, currency
        if self.paid is Paid.MORE:
            return units + 100, currency
        if self.paid is Paid.OTHER_CURRENCY:
            return units, "gbp"
        return units, "chf"


@dataclass(frozen=True)
class Redelivery:
    """An earlier delivery again, byte for byte (`earlier` modulo the number sent so far)."""

    earlier: int


Step = Delivery | Redelivery


def deliveries() -> st.SearchStrategy[Delivery]:
    payment = st.sampled_from([0, 0, 1, 2])  # most deliveries about one payment, so that they collide
    session = st.sampled_from([0, 0, 0, 1])  # a second checkout session now and then
    return st.one_of(
        st.builds(
            Delivery,
            payment=payment,
            kind=st.just(Kind.PAID),
            session=session,
            async_type=st.booleans(),
            paid=st.sampled_from(Paid) | st.just(Paid.EXACT),
        ),
        st.builds(
            Delivery, payment=payment, kind=st.sampled_from([Kind.PENDING, Kind.FAILED, Kind.EXPIRED]), session=session
        ),
        st.builds(
            Delivery,
            payment=payment,
            kind=st.just(Kind.REFUNDED),
            session=session,
            refund_step=st.integers(0, len(REFUND_STEPS) - 1),
        ),
        st.builds(Delivery, payment=payment, kind=st.just(Kind.DISPUTED), session=session, dispute=st.integers(0, 1)),
        st.builds(Delivery, payment=payment, kind=st.just(Kind.IRRELEVANT)),
    )


def scripts(max_steps: int) -> st.SearchStrategy[list[Step]]:
    step: st.SearchStrategy[Step] = st.one_of(deliveries(), st.builds(Redelivery, st.integers(0, max_steps)))
    return st.lists(step, min_size=max_steps // 4, max_size=max_steps)


def stripe_body(delivery: Delivery, event_id: str, reference: str) -> bytes:
    return json.dumps(delivery.stripe_event(event_id, reference)).encode()


# --- the model ----------------------------------------------------------------------------------------------

PENDING, CONFIRMED, FAILED, EXPIRED = "pending", "confirmed", "failed", "expired"
NEEDS_REVIEW, REFUNDED, DISPUTED = "needs_review", "refunded", "disputed"

# DESIGN.md's lifecycle, with ADR 13's one way back: money after failure or expiry goes to review.
ALLOWED_MOVES = {
    PENDING: {CONFIRMED, FAILED, EXPIRED, NEEDS_REVIEW},
    FAILED: {NEEDS_REVIEW},
    EXPIRED: {NEEDS_REVIEW},
    CONFIRMED: {REFUNDED, DISPUTED},
    REFUNDED: {REFUNDED, DISPUTED},
    NEEDS_REVIEW: set(),
    DISPUTED: set(),
}
CREDITED = {CONFIRMED, REFUNDED, DISPUTED}


@dataclass
class ModelPayment:
    order: Order
    status: str = PENDING
    handled: set[str] = field(default_factory=set)
    refunded_units: int | None = None
    reversed: Decimal = Decimal("0.00")

    @property
    def credited(self) -> Decimal:
        return self.order.credits if self.status in CREDITED else Decimal("0.00")


@dataclass
class LedgerModel:
    payments: list[ModelPayment] = field(default_factory=lambda: [ModelPayment(order) for order in ORDERS])
    links: dict[str, int] = field(default_factory=dict)  # payment intent -> payment, linked when paid

    def balance(self, user_id: str) -> Decimal:
        mine = [p for p in self.payments if p.order.user_id == user_id]
        return sum((p.credited - p.reversed for p in mine), Decimal("0.00"))

    def apply(self, delivery: Delivery) -> str:
        """What the delivery must answer, and the state it leaves."""
        if delivery.kind is Kind.IRRELEVANT:
            return "ignored"
        if delivery.kind in (Kind.REFUNDED, Kind.DISPUTED):
            return self._taken_back(delivery)
        payment = self.payments[delivery.payment]
        key = f"stripe:{delivery.session_id()}:{delivery.kind}"
        if key in payment.handled:
            return "duplicate"
        if delivery.kind is Kind.PENDING:
            return "pending"
        payment.handled.add(key)
        if delivery.kind is Kind.PAID:
            return self._paid(payment, delivery)
        if payment.status != PENDING:
            return "ignored"
        payment.status = FAILED if delivery.kind is Kind.FAILED else EXPIRED
        return payment.status

    def _paid(self, payment: ModelPayment, delivery: Delivery) -> str:
        if payment.status not in (PENDING, FAILED, EXPIRED):
            return "ignored"
        exact = payment.status == PENDING and delivery.paid is Paid.EXACT
        payment.status = CONFIRMED if exact else NEEDS_REVIEW
        self.links.setdefault(delivery.intent(), delivery.payment)
        return payment.status

    def _taken_back(self, delivery: Delivery) -> str:
        if delivery.intent() not in self.links:
            return "unmatched"
        payment = self.payments[self.links[delivery.intent()]]
        if delivery.kind is Kind.DISPUTED:
            key = f"stripe:dp_test_{delivery.payment}_{delivery.session}_{delivery.dispute}:disputed"
        else:
            key = f"stripe:{delivery.charge_id()}:refunded:{delivery.refunded_units()}"
        if key in payment.handled:
            return "duplicate"
        payment.handled.add(key)
        if payment.status not in (CONFIRMED, REFUNDED):
            return "ignored"
        if delivery.kind is Kind.DISPUTED:
            payment.reversed = payment.order.credits
            payment.status = DISPUTED
            return DISPUTED
        refunded, charged = delivery.refunded_units(), payment.order.units
        if refunded > charged or (payment.refunded_units is not None and refunded <= payment.refunded_units):
            return "ignored"
        payment.refunded_units = refunded
        payment.reversed = max(payment.reversed, _share(payment.order.credits, refunded, charged))
        payment.status = REFUNDED
        return REFUNDED


def _share(credits: Decimal, part: int, whole: int) -> Decimal:
    """ADR 20: each cumulative share is rounded down to 0.01 MC; the full refund takes back everything."""
    if part == whole:
        return credits
    return (credits * part / whole).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
