"""Builds the webhook Stripe would send for a demo payment, signed exactly as Stripe signs."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

from adapters.stripe.amounts import to_stripe_units
from application.views import PaymentView
from domain.money import Money
from domain.wallet import Wallet

DEMO_SESSION_PREFIX = "cs_demo_"


class StripeSimulator:
    def __init__(self, webhook_secret: str) -> None:
        self._secret = webhook_secret

    def simulate(self, payment: PaymentView, outcome: str) -> tuple[bytes, dict[str, str]]:
        session_id = payment.checkout_id or f"{DEMO_SESSION_PREFIX}{payment.reference}"
        paid = outcome == "pay"
        event = {
            "id": f"evt_demo_{secrets.token_hex(12)}",
            "object": "event",
            "type": "checkout.session.completed" if paid else "checkout.session.async_payment_failed",
            "created": int(time.time()),
            "livemode": False,
            "data": {
                "object": {
                    "id": session_id,
                    "object": "checkout.session",
                    "amount_total": to_stripe_units(Money(payment.amount, payment.currency)),
                    "currency": payment.currency.lower(),
                    "client_reference_id": payment.reference,
                    # As the checkout's metadata was set (adapters/stripe/gateway.py), echoed back
                    "metadata": {
                        "payment_id": str(payment.payment_id),
                        "reference": payment.reference,
                        "wallet_id": str(Wallet.create_id(payment.user_id)),
                    },
                    "mode": "payment",
                    "payment_intent": f"pi_demo_{payment.reference}",
                    "payment_status": "paid" if paid else "unpaid",
                    "status": "complete" if paid else "open",
                }
            },
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        return body, {"Stripe-Signature": sign(body, self._secret), "Content-Type": "application/json"}


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header for a body: t=<unix>,v1=<HMAC-SHA256 of "t.body">."""
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"
