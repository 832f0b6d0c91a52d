"""Stripe webhooks: signature checked by the official SDK on the raw body, then read."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import msgspec

# Bound once: `stripe.X` looks X up through the SDK's lazy imports on every use (1.5 µs).
from stripe import SignatureVerificationError, WebhookSignature

from adapters.stripe.events import read_event
from application.errors import WebhookRejected
from application.gateways import GatewayEvent
from domain.errors import DomainError

TOLERANCE_SECONDS = 300


class StripeWebhooks:
    """Verifies `Stripe-Signature` against any of the configured secrets (rotation).

    `livemode`: the mode of the configured secret key; an event of the other mode is about no payment of
    ours (None: not checked).
    """

    def __init__(self, secrets: Sequence[str], livemode: bool | None = None) -> None:
        self._secrets = [secret for secret in secrets if secret]
        self._livemode = livemode

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        signature = _header(headers, "stripe-signature")
        self._verify(body, signature)
        try:
            event = msgspec.json.decode(body)  # a third of json.loads' time; the same objects
            if not isinstance(event, dict):
                raise TypeError("the event is not a JSON object")
            return self._in_our_mode(read_event(event, _evidence(event, body, signature)), event)
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            RecursionError,
            DomainError,
            msgspec.DecodeError,
        ) as error:
            raise WebhookRejected(f"the Stripe event could not be read: {error}") from None

    def _in_our_mode(self, read: GatewayEvent, event: dict[str, Any]) -> GatewayEvent:
        livemode = event.get("livemode")
        if self._livemode is None or not isinstance(livemode, bool) or livemode == self._livemode:
            return read
        ours, theirs = ("live", "test") if self._livemode else ("test", "live")
        return replace(read, foreign=f"a {theirs}-mode event, but the configured key is for {ours} mode")

    def _verify(self, body: bytes, signature: str | None) -> None:
        try:
            payload = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookRejected("the body is not UTF-8") from None
        reason = "no webhook secret is configured"
        for secret in self._secrets:
            try:
                WebhookSignature.verify_header(payload, signature, secret, tolerance=TOLERANCE_SECONDS)
            except SignatureVerificationError as error:
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
