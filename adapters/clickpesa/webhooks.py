"""ClickPesa webhooks: the canonical checksum is verified before anything else is read."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from adapters.clickpesa.checksum import matches
from application.errors import WebhookRejected
from application.gateways import GatewayEvent, Outcome
from domain.errors import DomainError
from domain.money import Money

PAID_STATUSES = frozenset({"SUCCESS", "SETTLED"})


class ClickPesaWebhooks:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        payload = _json_object(body)
        claimed = payload.get("checksum") or _header(headers, "checksum")
        if not isinstance(claimed, str) or not claimed:
            raise WebhookRejected("the ClickPesa webhook carries no checksum")
        if payload.get("checksumMethod", "canonical") != "canonical":
            raise WebhookRejected("only the canonical checksum method is accepted for webhooks")
        if not self._secret or not matches(payload, self._secret, claimed):
            raise WebhookRejected("the ClickPesa checksum does not match")
        try:
            return _read(payload, hashlib.sha256(body).hexdigest())
        except (KeyError, TypeError, ValueError, DomainError) as error:
            raise WebhookRejected(f"the ClickPesa webhook could not be read: {error}") from None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise WebhookRejected("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookRejected("the body is not a JSON object")
    return payload


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def amount_of(value: object) -> Decimal:
    """ClickPesa sends amounts as strings or as JSON numbers: read either exactly."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"amount {value!r} is not a number")
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _read(payload: dict[str, Any], digest: str) -> GatewayEvent:
    name = payload.get("event") or payload.get("eventType")
    data = payload["data"]
    status = str(data.get("status", "")).upper()
    if name == "PAYMENT RECEIVED" and status in PAID_STATUSES:
        outcome = Outcome.PAID
    elif name == "PAYMENT FAILED":
        outcome = Outcome.FAILED
    else:
        outcome = Outcome.IRRELEVANT
    evidence = {
        "clickpesa_payment_id": str(data.get("id", "")),
        "payment_reference": str(data.get("paymentReference", "")),
        "channel": str(data.get("channel", "")),
        "status": status,
        "event": str(name),
        "body_sha256": digest,
    }
    if outcome is Outcome.IRRELEVANT:
        return GatewayEvent("clickpesa", outcome, None, f"clickpesa:{name}:{data.get('id')}", evidence=evidence)
    paid = None
    if outcome is Outcome.PAID:
        paid = Money.of(amount_of(data["collectedAmount"]), str(data["collectedCurrency"]))
    subject = data.get("id") or data["orderReference"]
    return GatewayEvent(
        gateway="clickpesa",
        outcome=outcome,
        reference=str(data["orderReference"]),
        key=f"clickpesa:{subject}:{outcome}",
        paid=paid,
        evidence=evidence,
    )
