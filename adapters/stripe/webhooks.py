"""Stripe webhooks: signature checked by the official SDK on the raw body, then read."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import stripe

from application.errors import WebhookRejected
from application.gateways import GatewayEvent, Outcome
from domain.errors import DomainError
from domain.money import Money

TOLERANCE_SECONDS = 300

SESSION_OUTCOMES = {
    "checkout.session.async_payment_succeeded": Outcome.PAID,
    "checkout.session.async_payment_failed": Outcome.FAILED,
    "checkout.session.expired": Outcome.EXPIRED,
}

# Stripe sends these in the currency's smallest unit, yet without minor digits of their own.
ZERO_DECIMAL = frozenset(
    ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"]
)


def money_from_stripe(minor_units: int, currency: str) -> Money:
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return Money.of(Decimal(minor_units), code)
    return Money.of(Decimal(minor_units).scaleb(-2), code)


class StripeWebhooks:
    """Verifies `Stripe-Signature` against any of the configured secrets (rotation)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self._secrets = [secret for secret in secrets if secret]

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        signature = _header(headers, "stripe-signature")
        self._verify(body, signature)
        try:
            event = json.loads(body)
            return _read(event, _evidence(event, body, signature))
        except (ValueError, KeyError, TypeError, DomainError) as error:
            raise WebhookRejected(f"the Stripe event could not be read: {error}") from None

    def _verify(self, body: bytes, signature: str | None) -> None:
        try:
            payload = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookRejected("the body is not UTF-8") from None
        reason = "no webhook secret is configured"
        for secret in self._secrets:
            try:
                stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance=TOLERANCE_SECONDS)
            except stripe.SignatureVerificationError as error:
                reason = str(error.user_message or error)
                continue
            return
        raise WebhookRejected(f"Stripe-Signature verification failed: {reason}")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _evidence(event: dict[str, Any], body: bytes, signature: str | None) -> dict[str, str]:
    obj = event["data"]["object"]
    return {
        "gateway_event_id": str(event["id"]),
        "event_type": str(event["type"]),
        "object_id": str(obj.get("id", "")),
        "payment_intent": str(obj.get("payment_intent") or ""),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "signature_header": signature or "",
    }


def _read(event: dict[str, Any], evidence: dict[str, str]) -> GatewayEvent:
    kind = event["type"]
    session = event["data"]["object"]
    if kind == "checkout.session.completed":
        outcome = Outcome.PAID if session.get("payment_status") == "paid" else Outcome.PENDING
    else:
        outcome = SESSION_OUTCOMES.get(kind, Outcome.IRRELEVANT)
    if outcome is Outcome.IRRELEVANT:
        return GatewayEvent("stripe", outcome, None, f"stripe:{event['id']}", evidence=evidence)
    paid = None
    if outcome is Outcome.PAID:
        paid = money_from_stripe(int(session["amount_total"]), str(session["currency"]))
    return GatewayEvent(
        gateway="stripe",
        outcome=outcome,
        reference=session.get("client_reference_id"),
        key=f"stripe:{session['id']}:{outcome}",
        paid=paid,
        evidence=evidence,
    )
