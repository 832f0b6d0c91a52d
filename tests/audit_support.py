"""Helpers for the auditor's-ledger tests: payments that credit, refund and are disputed, spends signed by their
owner, and re-chained forgeries."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from nacl.signing import SigningKey

from adapters.ledger_signing import Ed25519LedgerSigner
from application.audit.chain import EXPORT_SIGNATURE, ZERO_HASH, canonical_json, seal, signature_line
from application.gateways import GatewayEvent, Outcome
from application.ledger import Ledger
from application.payments import PaymentService, TopUpOrder
from application.views import PaymentView
from domain.indexes import SpendRecord
from domain.money import Money, credits
from domain.spend import SpendOrder

SERVICE_KEY = Ed25519LedgerSigner("5e" * 32)
FORGER_KEY = Ed25519LedgerSigner("f0" * 32)
ALICE = "a" * 64
BOB = "b" * 64
# Spenders sign with their own keys: their user_id is their public key.
CAROL_KEY = SigningKey(bytes([0xC4]) * 32)
DAVE_KEY = SigningKey(bytes([0xD4]) * 32)
CAROL = CAROL_KEY.verify_key.encode().hex()
DAVE = DAVE_KEY.verify_key.encode().hex()
SIGNED_AT = "2026-03-01T12:00:00Z"


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


def dispute(payments: PaymentService, view: PaymentView, dispute_id: str, won: bool = False) -> None:
    """Stripe says the charge is disputed (its credits are reversed) or that the dispute was won (they come back)."""
    outcome = Outcome.DISPUTE_WON if won else Outcome.DISPUTED
    event = GatewayEvent(
        "stripe",
        outcome,
        None,
        f"stripe:{view.reference}:{outcome}:{dispute_id}",
        None,
        {"gateway_event_id": f"evt_{outcome}_{view.reference}"},
        gateway_object=f"pi_{view.reference}",
        dispute=dispute_id,
    )
    payments.apply(event)


def spend(
    ledger: Ledger,
    key: SigningKey,
    amount: str,
    payee: str = "shop.example",
    order_id: str = "order-1",
    memo: str = "",
    signature_key: SigningKey | None = None,
) -> SpendOrder:
    """The owner of `key` signs a spend and the ledger records it with its uniqueness record, in one save."""
    user_id = key.verify_key.encode().hex()
    order = SpendOrder(user_id, payee, order_id, credits(amount), memo, SIGNED_AT)
    signature = (signature_key or key).sign(order.message()).signature.hex()
    wallet = ledger.wallet_of(user_id)
    assert wallet is not None, "a wallet is opened by its first top-up"
    wallet.spend(order, signature)
    record = SpendRecord(user_id=user_id, payee=payee, order_id=order_id, fingerprint=order.fingerprint)
    ledger.commit(wallet, record)
    return order


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
