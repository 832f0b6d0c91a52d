"""ClickPesa webhooks: the canonical checksum is verified before anything else is read."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from adapters.clickpesa.checksum import matches
from adapters.clickpesa.records import PAID_STATUSES, payment_event, status_of
from application.errors import WebhookRejected
from application.gateways import GatewayEvent, Outcome
from domain.errors import DomainError

PAYMENT_RECEIVED = "PAYMENT RECEIVED"
PAYMENT_FAILED = "PAYMENT FAILED"


class ClickPesaWebhooks:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        try:
            return self._parse(body, headers)
        except (RecursionError, UnicodeError):  # JSON nested past the decoder's depth, lone surrogates in strings
            raise WebhookRejected("the body is JSON no ClickPesa webhook can be") from None

    def _parse(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        payload = _json_object(body)
        claimed = payload.get("checksum") or _header(headers, "checksum")
        if not isinstance(claimed, str) or not claimed:
            raise WebhookRejected("the ClickPesa webhook carries no checksum")
        if payload.get("checksumMethod", "canonical") != "canonical":
            raise WebhookRejected("only the canonical checksum method is accepted for webhooks")
        if not self._secret or not matches(payload, self._secret, claimed):
            raise WebhookRejected("the ClickPesa checksum does not match")
        try:
            return _read(payload, {"body_sha256": hashlib.sha256(body).hexdigest(), "checksum": claimed})
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


def _read(payload: dict[str, Any], delivery: dict[str, str]) -> GatewayEvent:
    name = str(payload.get("event") or payload.get("eventType") or "").strip().upper()
    data = payload["data"]
    if not isinstance(data, dict):
        raise TypeError("data is not an object")
    status = status_of(data)
    evidence = {**delivery, "event": name}
    if name == PAYMENT_RECEIVED and status in PAID_STATUSES:
        return payment_event(data, Outcome.PAID, evidence)
    if name == PAYMENT_FAILED:
        return payment_event(data, Outcome.FAILED, evidence)
    subject = data.get("id") or data.get("paymentId") or data.get("orderReference")
    return GatewayEvent(
        "clickpesa", Outcome.IRRELEVANT, None, f"clickpesa:{name}:{status}:{subject}", evidence=evidence
    )
