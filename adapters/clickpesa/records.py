"""A ClickPesa payment record (a webhook's `data`, an item of a status query) as a gateway event.

Webhooks and reconciliation read records here, so both name the same payment with the same
event key and a webhook arriving after reconciliation is a duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from application.gateways import GatewayEvent, Outcome
from domain.money import Money

PAID_STATUSES = frozenset({"SUCCESS", "SETTLED"})
WAITING_STATUSES = frozenset({"PROCESSING", "PENDING"})
FAILED_STATUS = "FAILED"


class UnreadableRecord(ValueError):
    """A correctly signed record that does not say what mcpay needs to know."""


def status_of(record: Mapping[str, Any]) -> str:
    return str(record.get("status", "")).strip().upper()


def payment_event(record: Mapping[str, Any], outcome: Outcome, evidence: Mapping[str, str]) -> GatewayEvent:
    """The event for a paid or failed record; its key is the ClickPesa payment id and the outcome."""
    reference = record.get("orderReference")
    if not isinstance(reference, str) or not reference:
        raise UnreadableRecord("the record names no orderReference")
    subject = record.get("id") or record.get("paymentId") or reference
    paid = collected(record) if outcome is Outcome.PAID else None
    return GatewayEvent(
        gateway="clickpesa",
        outcome=outcome,
        reference=reference,
        key=f"clickpesa:{subject}:{outcome}",
        paid=paid,
        evidence={**record_evidence(record, outcome), **evidence},
    )


def collected(record: Mapping[str, Any]) -> Money:
    """What ClickPesa collected; older payloads say `amount`/`currency` instead."""
    amount = record.get("collectedAmount", record.get("amount"))
    currency = record.get("collectedCurrency", record.get("currency"))
    if not isinstance(currency, str):
        raise UnreadableRecord(f"currency {currency!r} is not a currency code")
    return Money.of(amount_of(amount), currency)


def amount_of(value: object) -> Decimal:
    """ClickPesa sends amounts as strings or as JSON numbers: read either exactly."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UnreadableRecord(f"amount {value!r} is not a number")
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise UnreadableRecord(f"amount {value!r} is not a number") from None


def record_evidence(record: Mapping[str, Any], outcome: Outcome) -> dict[str, str]:
    evidence = {
        "clickpesa_payment_id": _text(record.get("id") or record.get("paymentId")),
        "payment_reference": _text(record.get("paymentReference")),
        "channel": _text(record.get("channel")),
        "status": status_of(record),
        "collected_amount": _text(record.get("collectedAmount", record.get("amount"))),
        "collected_currency": _text(record.get("collectedCurrency", record.get("currency"))),
        "message": _text(record.get("message")),
    }
    if outcome is Outcome.FAILED and evidence["message"]:
        evidence["reason"] = f"ClickPesa: {evidence['message']}"
    return evidence


def _text(value: object) -> str:
    return "" if value is None else str(value)
