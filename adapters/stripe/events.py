"""Stripe objects, from a webhook or from the API, read as the gateway events mcpay settles.

Keys name the Stripe object and what happened to it, not the event that told us: two Event objects
about one paid session, or a webhook and a reconciliation about it, are the same thing. A refund's key
carries the cumulative `amount_refunded`, so a redelivery is a duplicate and a larger refund is news.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.stripe.amounts import amount_from_stripe, charges_in, money_from_stripe
from application.gateways import GatewayEvent, Outcome

GATEWAY = "stripe"

SESSION_EVENTS = {
    "checkout.session.async_payment_succeeded": Outcome.PAID,
    "checkout.session.async_payment_failed": Outcome.FAILED,
    "checkout.session.expired": Outcome.EXPIRED,
}

# A payment intent back in these states after a delayed method was tried: the payment failed.
FAILED_INTENT_STATES = frozenset({"requires_payment_method", "canceled"})

Evidence = dict[str, str]


def read_event(event: Mapping[str, Any], evidence: Evidence) -> GatewayEvent:
    """A verified webhook's Event as a gateway event (IRRELEVANT for types mcpay does not act on)."""
    kind = event["type"]
    obj = event["data"]["object"]
    if kind == "checkout.session.completed":
        return session_event(obj, Outcome.PAID if obj.get("payment_status") == "paid" else Outcome.PENDING, evidence)
    if kind in SESSION_EVENTS:
        return session_event(obj, SESSION_EVENTS[kind], evidence)
    if kind == "charge.refunded":
        return refund_event(obj, evidence)
    if kind == "charge.dispute.created":
        return dispute_event(obj, evidence)
    if kind == "charge.dispute.funds_reinstated" or (kind == "charge.dispute.closed" and obj.get("status") == "won"):
        return dispute_won_event(obj, evidence)
    return GatewayEvent(GATEWAY, Outcome.IRRELEVANT, None, f"stripe:{event['id']}", evidence=evidence)


def session_event(session: Mapping[str, Any], outcome: Outcome, evidence: Evidence) -> GatewayEvent:
    paid = None
    if outcome is Outcome.PAID and charges_in(session["currency"]):  # another currency: paid = None, a review
        paid = money_from_stripe(session["amount_total"], session["currency"])
    reference = session.get("client_reference_id")
    metadata = session.get("metadata")
    claimed, wallet = (
        (metadata.get("payment_id"), metadata.get("wallet_id")) if isinstance(metadata, Mapping) else (None, None)
    )
    return GatewayEvent(
        gateway=GATEWAY,
        outcome=outcome,
        reference=None if reference is None else str(reference),
        key=f"stripe:{session['id']}:{outcome}",
        paid=paid,
        evidence=evidence,
        gateway_object=object_id(session.get("payment_intent")),
        checkout_id=str(session["id"]),
        payment_id=None if claimed is None else str(claimed),
        wallet_id=None if wallet is None else str(wallet),
    )


def refund_event(charge: Mapping[str, Any], evidence: Evidence) -> GatewayEvent:
    """`charge.refunded`: found through its payment intent; `amount_refunded` is the total so far."""
    key = f"stripe:{charge['id']}:refunded:{charge['amount_refunded']}"
    if not charges_in(charge["currency"]):  # not a charge mcpay made
        return GatewayEvent(GATEWAY, Outcome.IRRELEVANT, None, key, evidence=evidence)
    refunded = amount_from_stripe(charge["amount_refunded"], charge["currency"])
    if refunded.amount == 0:
        return GatewayEvent(GATEWAY, Outcome.IRRELEVANT, None, key, evidence=evidence)
    charged = money_from_stripe(charge["amount"], charge["currency"])
    return GatewayEvent(
        gateway=GATEWAY,
        outcome=Outcome.REFUNDED,
        reference=None,
        key=key,
        paid=charged,
        evidence={**evidence, "charge_id": str(charge["id"]), "amount_refunded": str(refunded)},
        gateway_object=object_id(charge.get("payment_intent")) or str(charge["id"]),
        refunded=refunded,
    )


def dispute_event(dispute: Mapping[str, Any], evidence: Evidence) -> GatewayEvent:
    """`charge.dispute.created`: found through its payment intent; every remaining credit is reversed."""
    return _about_dispute(dispute, Outcome.DISPUTED, "disputed", evidence)


def dispute_won_event(dispute: Mapping[str, Any], evidence: Evidence) -> GatewayEvent:
    """`charge.dispute.closed` as won, or `charge.dispute.funds_reinstated`: one key, so either gives back once."""
    return _about_dispute(dispute, Outcome.DISPUTE_WON, "won", evidence)


def _about_dispute(dispute: Mapping[str, Any], outcome: Outcome, said: str, evidence: Evidence) -> GatewayEvent:
    return GatewayEvent(
        gateway=GATEWAY,
        outcome=outcome,
        reference=None,
        key=f"stripe:{dispute['id']}:{said}",
        evidence={
            **evidence,
            "charge_id": str(object_id(dispute.get("charge")) or ""),
            "dispute_amount": f"{dispute.get('amount')} {dispute.get('currency')}",
            "dispute_reason": str(dispute.get("reason") or ""),
            "dispute_status": str(dispute.get("status") or ""),
        },
        gateway_object=object_id(dispute.get("payment_intent")) or object_id(dispute.get("charge")),
        dispute=str(dispute["id"]),
    )


def session_status(session: Mapping[str, Any], evidence: Evidence) -> GatewayEvent | None:
    """What a retrieved Checkout Session says, as the webhook would have said it (None: nothing new yet)."""
    status = session.get("status")
    if status == "expired":
        return session_event(session, Outcome.EXPIRED, evidence)
    if status != "complete":
        return None
    if session.get("payment_status") == "paid":
        return session_event(session, Outcome.PAID, evidence)
    intent = session.get("payment_intent")
    if isinstance(intent, Mapping) and intent.get("status") in FAILED_INTENT_STATES:
        return session_event(session, Outcome.FAILED, {**evidence, "reason": "the delayed payment failed"})
    return None


def object_id(value: object) -> str | None:
    """The id of a Stripe object field, expanded (an object) or not (its id)."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None
