"""Gateway events kept in the store as plain statements, to be applied later (held before their payment)."""

from __future__ import annotations

from typing import Any

from application.gateways import GatewayEvent, Outcome
from domain.money import Money


def statement_of(event: GatewayEvent) -> dict[str, Any]:
    """The event as JSON-friendly values: amounts as decimal strings, absent fields left out."""
    statement: dict[str, Any] = {
        "gateway": event.gateway,
        "outcome": str(event.outcome),
        "key": event.key,
        "evidence": dict(event.evidence),
    }
    optional = {
        "reference": event.reference,
        "gateway_object": event.gateway_object,
        "dispute": event.dispute,
        "checkout_id": event.checkout_id,
        "payment_id": event.payment_id,
    }
    statement.update({name: value for name, value in optional.items() if value is not None})
    for name, money in (("paid", event.paid), ("refunded", event.refunded)):
        if money is not None:
            statement[name] = {"amount": str(money.amount), "currency": money.currency}
    return statement


def event_of(statement: dict[str, Any]) -> GatewayEvent:
    return GatewayEvent(
        gateway=statement["gateway"],
        outcome=Outcome(statement["outcome"]),
        reference=statement.get("reference"),
        key=statement["key"],
        paid=_money(statement.get("paid")),
        evidence=dict(statement.get("evidence", {})),
        gateway_object=statement.get("gateway_object"),
        refunded=_money(statement.get("refunded")),
        dispute=statement.get("dispute"),
        checkout_id=statement.get("checkout_id"),
        payment_id=statement.get("payment_id"),
    )


def _money(value: dict[str, str] | None) -> Money | None:
    return None if value is None else Money.of(value["amount"], value["currency"])
