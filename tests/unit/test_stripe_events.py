"""Stripe objects read as gateway events: refunds and disputes by payment intent, sessions for reconciliation."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from adapters.stripe.events import read_event, session_status
from adapters.stripe.webhooks import StripeWebhooks
from application.errors import WebhookRejected
from application.gateways import Outcome
from domain.money import Money

pytestmark = pytest.mark.unit

SECRET = "whsec_unit_tests"
SESSION = {
    "id": "cs_test_1",
    "object": "checkout.session",
    "amount_total": 2500,
    "currency": "usd",
    "client_reference_id": "MCREF0001",
    "payment_intent": "pi_test_1",
    "payment_status": "paid",
    "status": "complete",
}
CHARGE = {
    "id": "ch_test_1",
    "object": "charge",
    "amount": 2500,
    "amount_refunded": 1000,
    "currency": "usd",
    "payment_intent": "pi_test_1",
}
DISPUTE = {
    "id": "dp_test_1",
    "object": "dispute",
    "amount": 2500,
    "currency": "usd",
    "charge": "ch_test_1",
    "payment_intent": "pi_test_1",
    "reason": "fraudulent",
}


def event(kind: str, obj: dict[str, Any], event_id: str = "evt_1") -> dict[str, Any]:
    return {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}


def delivered(kind: str, obj: dict[str, Any], event_id: str = "evt_1") -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event(kind, obj, event_id)).encode()
    moment = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={moment},v1={digest}"}


def test_a_paid_session_carries_its_payment_intent_to_link() -> None:
    read = read_event(event("checkout.session.completed", SESSION), {})
    assert (read.outcome, read.reference, read.gateway_object) == (Outcome.PAID, "MCREF0001", "pi_test_1")


@pytest.mark.parametrize(
    ("metadata", "named"),
    [
        ({"payment_id": "p-1", "wallet_id": "w-1", "reference": "MCREF0001"}, ("p-1", "w-1")),
        ({"payment_id": "p-1"}, ("p-1", None)),  # a checkout made before wallets were named
        (None, (None, None)),
        ("not a mapping", (None, None)),
    ],
)
def test_a_session_names_the_payment_and_wallet_its_metadata_names(metadata: Any, named: tuple[Any, Any]) -> None:
    read = read_event(event("checkout.session.completed", {**SESSION, "metadata": metadata}), {})
    assert (read.payment_id, read.wallet_id) == named


def test_a_refund_names_its_payment_intent_and_the_cumulative_amount() -> None:
    read = read_event(event("charge.refunded", CHARGE), {"gateway_event_id": "evt_1"})
    assert read.outcome is Outcome.REFUNDED
    assert read.reference is None
    assert read.gateway_object == "pi_test_1"
    assert read.refunded == Money.of("10.00", "USD")
    assert read.paid == Money.of("25.00", "USD")
    assert read.key == "stripe:ch_test_1:refunded:1000"
    assert read.evidence["amount_refunded"] == "10.00 USD"
    assert read.evidence["gateway_event_id"] == "evt_1"


def test_a_redelivered_refund_has_the_same_key_and_a_larger_one_another() -> None:
    first = read_event(event("charge.refunded", CHARGE, "evt_1"), {})
    again = read_event(event("charge.refunded", CHARGE, "evt_2"), {})
    larger = read_event(event("charge.refunded", {**CHARGE, "amount_refunded": 2500}, "evt_3"), {})
    assert first.key == again.key != larger.key


def test_a_refund_in_a_currency_mcpay_never_charges_in_is_not_its_business() -> None:
    read = read_event(event("charge.refunded", {**CHARGE, "currency": "sek"}), {})
    assert read.outcome is Outcome.IRRELEVANT


def test_a_charge_without_a_payment_intent_is_looked_up_by_its_own_id() -> None:
    read = read_event(event("charge.refunded", {**CHARGE, "payment_intent": None}), {})
    assert read.gateway_object == "ch_test_1"


def test_a_dispute_names_its_payment_intent() -> None:
    read = read_event(event("charge.dispute.created", DISPUTE), {})
    assert (read.outcome, read.reference, read.gateway_object) == (Outcome.DISPUTED, None, "pi_test_1")
    assert read.key == "stripe:dp_test_1:disputed"
    assert read.evidence["dispute_reason"] == "fraudulent"
    assert read.evidence["charge_id"] == "ch_test_1"


def test_a_paid_session_in_a_currency_mcpay_does_not_take_is_paid_an_unknown_amount() -> None:
    read = read_event(event("checkout.session.completed", {**SESSION, "currency": "sek"}), {})
    assert (read.outcome, read.paid) == (Outcome.PAID, None)


@pytest.mark.parametrize(
    ("session", "outcome"),
    [
        ({}, Outcome.PAID),
        ({"status": "expired", "payment_status": "unpaid"}, Outcome.EXPIRED),
        (
            {"payment_status": "unpaid", "payment_intent": {"id": "pi_test_1", "status": "requires_payment_method"}},
            Outcome.FAILED,
        ),
    ],
)
def test_a_retrieved_session_reads_as_its_webhook_would(session: dict[str, Any], outcome: Outcome) -> None:
    retrieved = session_status({**SESSION, **session}, {"source": "reconciliation"})
    assert retrieved is not None
    assert retrieved.outcome is outcome
    assert retrieved.key == f"stripe:cs_test_1:{outcome}"
    assert retrieved.gateway_object == "pi_test_1"


@pytest.mark.parametrize(
    "session",
    [
        {"status": "open", "payment_status": "unpaid", "payment_intent": None},
        {"payment_status": "unpaid", "payment_intent": {"id": "pi_test_1", "status": "processing"}},
    ],
)
def test_a_session_still_open_or_processing_is_no_news(session: dict[str, Any]) -> None:
    assert session_status({**SESSION, **session}, {}) is None


def test_the_webhook_reads_refunds_and_disputes_through_the_verified_path() -> None:
    webhooks = StripeWebhooks([SECRET])
    refund = webhooks.parse_webhook(*delivered("charge.refunded", CHARGE))
    assert refund.outcome is Outcome.REFUNDED
    assert refund.evidence["object_id"] == "ch_test_1"
    assert refund.evidence["payment_intent"] == "pi_test_1"
    disputed = webhooks.parse_webhook(*delivered("charge.dispute.created", DISPUTE))
    assert disputed.outcome is Outcome.DISPUTED


@pytest.mark.parametrize(
    "obj", [{**CHARGE, "amount_refunded": "1000"}, {k: v for k, v in CHARGE.items() if k != "amount"}, "ch_1"]
)
def test_an_unreadable_refund_is_rejected(obj: Any) -> None:
    with pytest.raises(WebhookRejected, match="could not be read"):
        StripeWebhooks([SECRET]).parse_webhook(*delivered("charge.refunded", obj))
