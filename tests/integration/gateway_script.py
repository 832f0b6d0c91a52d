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
from application.views import PaymentView

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
    DISPUTE_WON = "dispute_won"  # charge.dispute.closed as won, or .funds_reinstated (async_type)
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
    session: int = 0  # which checkout session (and its payment intent and charge): 0 is the payment's own
    async_type: bool = False  # paid: checkout.session.async_payment_succeeded rather than .completed
    paid: Paid = Paid.EXACT
    refund_step: int = 0
    dispute: int = 0  # which dispute object

    def session_id(self, own: str | None = None) -> str:
        """Session 0 is the one the payment opened (`own`, its checkout id), any other a stranger."""
        return own if own and self.session == 0 else f"cs_test_{self.payment}_{self.session}"

    def dispute_id(self) -> str:
        return f"dp_test_{self.payment}_{self.session}_{self.dispute}"

    def intent(self) -> str:
        return f"pi_test_{self.payment}_{self.session}"

    def charge_id(self) -> str:
        return f"ch_test_{self.payment}_{self.session}"

    def refunded_units(self) -> int:
        return REFUND_STEPS[self.refund_step](ORDERS[self.payment].units)

    def stripe_event(self, event_id: str, payment: PaymentView) -> dict[str, Any]:
        kind, obj = self._typed_object(payment)
        return {"id": event_id, "object": "event", "type": kind, "livemode": False, "data": {"object": obj}}

    def _typed_object(self, payment: PaymentView) -> tuple[str, dict[str, Any]]:
        order = ORDERS[self.payment]
        currency = order.currency.lower()
        if self.kind is Kind.REFUNDED:
            charge = {"id": self.charge_id(), "object": "charge", "amount": order.units, "currency": currency}
            return "charge.refunded", {
                **charge,
                "amount_refunded": self.refunded_units(),
                "payment_intent": self.intent(),
            }
        if self.kind in (Kind.DISPUTED, Kind.DISPUTE_WON):
            dispute = {
                "id": self.dispute_id(),
                "object": "dispute",
                "amount": order.units,
                "currency": currency,
                "charge": self.charge_id(),
                "payment_intent": self.intent(),
                "reason": "fraudulent",
                "status": "needs_response" if self.kind is Kind.DISPUTED else "won",
            }
            if self.kind is Kind.DISPUTED:
                return "charge.dispute.created", dispute
            return "charge.dispute.funds_reinstated" if self.async_type else "charge.dispute.closed", dispute
        if self.kind is Kind.IRRELEVANT:
            return "payment_intent.created", {"id": self.intent(), "object": "payment_intent"}
        return self._session_event(payment)

    def _session_event(self, payment: PaymentView) -> tuple[str, dict[str, Any]]:
        units, currency = self._paid_amount()
        session = {
            "id": self.session_id(payment.checkout_id),
            "object": "checkout.session",
            "amount_total": units,
            "currency": currency,
            "client_reference_id": payment.reference,
            "metadata": {"payment_id": str(payment.payment_id), "reference": payment.reference},
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
        st.builds(
            Delivery,
            payment=payment,
            kind=st.sampled_from([Kind.DISPUTED, Kind.DISPUTE_WON]),
            session=session,
            async_type=st.booleans(),
            dispute=st.integers(0, 1),
        ),
        st.builds(Delivery, payment=payment, kind=st.just(Kind.IRRELEVANT)),
    )


def scripts(max_steps: int) -> st.SearchStrategy[list[Step]]:
    step: st.SearchStrategy[Step] = st.one_of(deliveries(), st.builds(Redelivery, st.integers(0, max_steps)))
    return st.lists(step, min_size=max_steps // 4, max_size=max_steps)


def stripe_body(delivery: Delivery, event_id: str, payment: PaymentView) -> bytes:
    return json.dumps(delivery.stripe_event(event_id, payment)).encode()


# --- the model ----------------------------------------------------------------------------------------------

PENDING, CONFIRMED, FAILED, EXPIRED = "pending", "confirmed", "failed", "expired"
NEEDS_REVIEW, REFUNDED, DISPUTED = "needs_review", "refunded", "disputed"
CREDITED = {CONFIRMED, REFUNDED, DISPUTED}

# DESIGN.md's lifecycle, with ADR 13's one way back (money after failure or expiry goes to review) and ADR 31's
# reversals as facts: a confirmation applies reversals held for it at once, and a won dispute gives credits back.
ALLOWED_MOVES = {
    PENDING: {CONFIRMED, FAILED, EXPIRED, NEEDS_REVIEW, REFUNDED, DISPUTED},
    FAILED: {NEEDS_REVIEW},
    EXPIRED: {NEEDS_REVIEW},
    CONFIRMED: {REFUNDED, DISPUTED},
    REFUNDED: {DISPUTED},
    DISPUTED: {REFUNDED, CONFIRMED},
    NEEDS_REVIEW: set(),
}


@dataclass
class ModelPayment:
    order: Order
    status: str = PENDING
    handled: set[str] = field(default_factory=set)
    refunded_units: int | None = None
    refund_share: Decimal = Decimal("0.00")
    disputes: set[str] = field(default_factory=set)
    won: set[str] = field(default_factory=set)
    held: int = 0  # news kept for an admin

    @property
    def credited(self) -> Decimal:
        return self.order.credits if self.status in CREDITED else Decimal("0.00")

    @property
    def reversed(self) -> Decimal:
        if self.status not in CREDITED:
            return Decimal("0.00")
        return self.order.credits if self.disputes - self.won else self.refund_share

    def restate(self) -> None:
        self.status = DISPUTED if self.disputes - self.won else REFUNDED if self.refunded_units else CONFIRMED


@dataclass
class LedgerModel:
    payments: list[ModelPayment] = field(default_factory=lambda: [ModelPayment(order) for order in ORDERS])
    links: dict[str, int] = field(default_factory=dict)  # payment intent -> payment, linked when confirmed/reviewed
    waiting: dict[str, list[Delivery]] = field(default_factory=dict)  # payment intent -> reversals before it

    def balance(self, user_id: str) -> Decimal:
        mine = [p for p in self.payments if p.order.user_id == user_id]
        return sum((p.credited - p.reversed for p in mine), Decimal("0.00"))

    def apply(self, delivery: Delivery) -> str:
        """What the delivery must answer, and the state it leaves."""
        if delivery.kind is Kind.IRRELEVANT:
            return "ignored"
        if delivery.kind in REVERSING:
            return self._taken_back(delivery)
        payment = self.payments[delivery.payment]
        key = f"stripe:{delivery.session_id('own')}:{delivery.kind}"
        if key in payment.handled:
            return "duplicate"
        if delivery.kind is Kind.PENDING:
            return "pending"
        payment.handled.add(key)
        if delivery.kind is Kind.PAID:
            return self._paid(payment, delivery)
        if payment.status != PENDING or delivery.session != 0:  # a stranger session fails no payment of ours
            return "ignored"
        payment.status = FAILED if delivery.kind is Kind.FAILED else EXPIRED
        return payment.status

    def _paid(self, payment: ModelPayment, delivery: Delivery) -> str:
        if payment.status in CREDITED or payment.status == NEEDS_REVIEW:
            payment.held += 1  # a second paid object: an admin must see it
            return "held"
        exact = payment.status == PENDING and delivery.paid is Paid.EXACT and delivery.session == 0
        answer = payment.status = CONFIRMED if exact else NEEDS_REVIEW
        if delivery.intent() not in self.links:
            self.links[delivery.intent()] = delivery.payment
            for waited in self.waiting.pop(delivery.intent(), []):
                self._reverse(payment, waited)
        return answer

    def _taken_back(self, delivery: Delivery) -> str:
        if delivery.intent() not in self.links:
            waiting = self.waiting.setdefault(delivery.intent(), [])
            if _key(delivery) in {_key(w) for w in waiting}:
                return "duplicate"
            waiting.append(delivery)
            return "held"
        payment = self.payments[self.links[delivery.intent()]]
        if _key(delivery) in payment.handled:
            return "duplicate"
        return self._reverse(payment, delivery)

    def _reverse(self, payment: ModelPayment, delivery: Delivery) -> str:
        payment.handled.add(_key(delivery))
        if payment.status not in CREDITED:
            payment.held += 1
            return "held"
        if delivery.kind is Kind.DISPUTED:
            payment.disputes.add(delivery.dispute_id())
            payment.restate()
            return "disputed"
        if delivery.kind is Kind.DISPUTE_WON:
            payment.won.add(delivery.dispute_id())
            payment.restate()
            return "dispute_won"
        refunded, charged = delivery.refunded_units(), payment.order.units
        if refunded > charged or (payment.refunded_units is not None and refunded <= payment.refunded_units):
            return "ignored"
        payment.refunded_units = refunded
        payment.refund_share = _share(payment.order.credits, refunded, charged)
        payment.restate()
        return REFUNDED


REVERSING = (Kind.REFUNDED, Kind.DISPUTED, Kind.DISPUTE_WON)


def _key(delivery: Delivery) -> str:
    if delivery.kind is Kind.DISPUTED:
        return f"stripe:{delivery.dispute_id()}:disputed"
    if delivery.kind is Kind.DISPUTE_WON:
        return f"stripe:{delivery.dispute_id()}:won"
    return f"stripe:{delivery.charge_id()}:refunded:{delivery.refunded_units()}"


def _share(credits: Decimal, part: int, whole: int) -> Decimal:
    """ADR 20: each cumulative share is rounded down to 0.01 MC; the full refund takes back everything."""
    if part == whole:
        return credits
    return (credits * part / whole).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
