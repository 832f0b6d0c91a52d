"""Helpers for the auditor's-ledger tests: payments that credit and refund, and re-chained forgeries."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from adapters.ledger_signing import Ed25519LedgerSigner
from application.audit.chain import EXPORT_SIGNATURE, ZERO_HASH, canonical_json, seal, signature_line
from application.gateways import GatewayEvent, Outcome
from application.payments import PaymentService, TopUpOrder
from application.views import PaymentView
from domain.money import Money

SERVICE_KEY = Ed25519LedgerSigner("5e" * 32)
FORGER_KEY = Ed25519LedgerSigner("f0" * 32)
ALICE = "a" * 64
BOB = "b" * 64


def pay(payments: PaymentService, user: str, amount: str, currency: str = "USD") -> PaymentView:
    """A stripe payment, initiated and confirmed through the service: its credits land in the wallet."""
    view = payments.initiate(user, TopUpOrder(amount, currency, "stripe")).payment
    paid = GatewayEvent(
        "stripe",
        Outcome.PAID,
        view.reference,
        f"stripe:{view.reference}:paid",
        Money(view.amount, view.currency),
        {"gateway_event_id": f"evt_{view.reference}"},
        gateway_object=f"pi_{view.reference}",
    )
    assert payments.apply(paid) == "confirmed"
    return view


def refund(payments: PaymentService, view: PaymentView, refunded: str) -> None:
    """Stripe says `refunded` (cumulative) of the payment's charge went back: credits are reversed."""
    event = GatewayEvent(
        "stripe",
        Outcome.REFUNDED,
        None,
        f"stripe:{view.reference}:refunded:{refunded}",
        Money(view.amount, view.currency),
        {"gateway_event_id": f"evt_refund_{view.reference}"},
        gateway_object=f"pi_{view.reference}",
        refunded=Money.of(refunded, view.currency),
    )
    assert payments.apply(event) == "refunded"


def parsed(lines: Iterable[str | bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def rechain(lines: Iterable[dict[str, Any]], key: Ed25519LedgerSigner = FORGER_KEY) -> list[str]:
    """What someone holding `key` could produce from edited lines: a valid chain, freshly signed."""
    out, prev = [], ZERO_HASH
    for line in lines:
        if line.get("type") == EXPORT_SIGNATURE:
            continue
        unsealed = {name: value for name, value in line.items() if name not in ("prev_hash", "hash")}
        sealed = seal(unsealed, prev)
        prev = sealed["hash"]
        out.append(canonical_json(sealed) + "\n")
    out.append(canonical_json(signature_line(len(out), prev, key.public_key, key.sign(prev.encode()))) + "\n")
    return out


def first(lines: list[dict[str, Any]], kind: str) -> int:
    """The index of the first line of an event type."""
    return next(index for index, line in enumerate(lines) if line.get("type") == kind)
