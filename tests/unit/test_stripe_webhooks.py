from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from adapters.stripe.simulator import StripeSimulator, sign
from adapters.stripe.webhooks import StripeWebhooks
from application.errors import WebhookRejected
from application.gateways import Outcome
from application.views import PaymentView
from domain.money import Money
from domain.payment import Payment

pytestmark = pytest.mark.unit

SECRET = "whsec_test_current"
OLD_SECRET = "whsec_test_previous"


def stripe_event(kind: str = "checkout.session.completed", **session: Any) -> dict[str, Any]:
    fields = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "amount_total": 2500,
        "currency": "usd",
        "client_reference_id": "MCREF0001",
        "payment_intent": "pi_test_1",
        "payment_status": "paid",
        "status": "complete",
    }
    return {"id": "evt_test_1", "object": "event", "type": kind, "data": {"object": {**fields, **session}}}


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def signature_header(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    """Stripe's scheme, computed here: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>." + body))."""
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), str(moment).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def signed(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    return {"Stripe-Signature": signature_header(body, secret, timestamp), "Content-Type": "application/json"}


def demo_payment_view(amount: str = "25.00", currency: str = "USD") -> PaymentView:
    price = Money.of(amount, currency)
    return PaymentView.of(Payment.initiate(UUID(int=1), "user-1", "stripe", "MCREF0001", price, Decimal(1)))


@pytest.fixture
def webhooks() -> StripeWebhooks:
    return StripeWebhooks([SECRET])


def test_a_correctly_signed_completed_session_is_a_payment(webhooks: StripeWebhooks) -> None:
    body = encode(stripe_event())
    event = webhooks.parse_webhook(body, signed(body))
    assert event.gateway == "stripe"
    assert event.outcome is Outcome.PAID
    assert event.reference == "MCREF0001"
    assert event.paid == Money.of("25.00", "USD")
    assert event.key == "stripe:cs_test_1:paid"
    assert event.evidence["gateway_event_id"] == "evt_test_1"
    assert event.evidence["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert event.evidence["signature_header"] == signed(body)["Stripe-Signature"]


def test_the_signature_header_name_is_case_insensitive(webhooks: StripeWebhooks) -> None:
    body = encode(stripe_event())
    headers = {"stripe-signature": signature_header(body)}
    assert webhooks.parse_webhook(body, headers).outcome is Outcome.PAID


@pytest.mark.parametrize(
    ("kind", "session", "outcome"),
    [
        ("checkout.session.completed", {"payment_status": "unpaid"}, Outcome.PENDING),
        ("checkout.session.async_payment_succeeded", {}, Outcome.PAID),
        ("checkout.session.async_payment_failed", {"payment_status": "unpaid"}, Outcome.FAILED),
        ("checkout.session.expired", {"payment_status": "unpaid", "status": "expired"}, Outcome.EXPIRED),
    ],
)
def test_session_events_map_to_outcomes(
    webhooks: StripeWebhooks, kind: str, session: dict[str, Any], outcome: Outcome
) -> None:
    body = encode(stripe_event(kind, **session))
    event = webhooks.parse_webhook(body, signed(body))
    assert event.outcome is outcome
    assert event.reference == "MCREF0001"
    assert event.key == f"stripe:cs_test_1:{outcome}"


def test_the_same_session_paid_twice_has_the_same_key_whatever_the_event_id(webhooks: StripeWebhooks) -> None:
    first = encode(stripe_event())
    second_event = stripe_event("checkout.session.async_payment_succeeded")
    second_event["id"] = "evt_test_2"
    second = encode(second_event)
    assert webhooks.parse_webhook(first, signed(first)).key == webhooks.parse_webhook(second, signed(second)).key


def test_an_unrelated_event_names_no_payment(webhooks: StripeWebhooks) -> None:
    body = encode({"id": "evt_9", "type": "customer.created", "data": {"object": {"id": "cus_1"}}})
    event = webhooks.parse_webhook(body, signed(body))
    assert event.outcome is Outcome.IRRELEVANT
    assert event.reference is None


def test_zero_decimal_currencies_are_read_in_whole_units(webhooks: StripeWebhooks) -> None:
    body = encode(stripe_event(amount_total=500, currency="jpy"))
    assert webhooks.parse_webhook(body, signed(body)).paid == Money.of("500", "JPY")


def test_a_tampered_body_is_rejected(webhooks: StripeWebhooks) -> None:
    body = encode(stripe_event())
    headers = signed(body)
    tampered = body.replace(b"2500", b"9500")
    with pytest.raises(WebhookRejected):
        webhooks.parse_webhook(tampered, headers)


def test_a_signature_with_the_wrong_secret_is_rejected(webhooks: StripeWebhooks) -> None:
    body = encode(stripe_event())
    with pytest.raises(WebhookRejected):
        webhooks.parse_webhook(body, signed(body, secret="whsec_someone_else"))


def test_a_signature_older_than_five_minutes_is_rejected(webhooks: StripeWebhooks) -> None:
    body = encode(stripe_event())
    with pytest.raises(WebhookRejected, match="tolerance"):
        webhooks.parse_webhook(body, signed(body, timestamp=int(time.time()) - 301))


def test_a_signature_within_five_minutes_is_accepted(webhooks: StripeWebhooks) -> None:
    body = encode(stripe_event())
    assert webhooks.parse_webhook(body, signed(body, timestamp=int(time.time()) - 240)).outcome is Outcome.PAID


def test_a_missing_signature_header_is_rejected(webhooks: StripeWebhooks) -> None:
    with pytest.raises(WebhookRejected):
        webhooks.parse_webhook(encode(stripe_event()), {"Content-Type": "application/json"})


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "v1=" + "0" * 64, "t=1700000000", "t=1,v0=ab"])
def test_a_garbled_signature_header_is_rejected(webhooks: StripeWebhooks, header: str) -> None:
    with pytest.raises(WebhookRejected):
        webhooks.parse_webhook(encode(stripe_event()), {"Stripe-Signature": header})


def test_a_body_that_is_not_utf8_is_rejected(webhooks: StripeWebhooks) -> None:
    body = b"\xff\xfe"
    with pytest.raises(WebhookRejected):
        webhooks.parse_webhook(body, signed(body))


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"id": "evt_1"}', b'{"id": "e", "type": "x", "data": {}}'])
def test_a_signed_body_that_is_not_a_stripe_event_is_rejected(webhooks: StripeWebhooks, body: bytes) -> None:
    with pytest.raises(WebhookRejected, match="could not be read"):
        webhooks.parse_webhook(body, signed(body))


def test_a_paid_session_with_an_unreadable_amount_is_rejected(webhooks: StripeWebhooks) -> None:
    body = encode(stripe_event(amount_total=0))
    with pytest.raises(WebhookRejected):
        webhooks.parse_webhook(body, signed(body))


@pytest.mark.parametrize("secret", [OLD_SECRET, SECRET])
def test_during_rotation_either_secret_verifies(secret: str) -> None:
    webhooks = StripeWebhooks([OLD_SECRET, SECRET])
    body = encode(stripe_event())
    assert webhooks.parse_webhook(body, signed(body, secret=secret)).outcome is Outcome.PAID


def test_a_header_with_several_v1_signatures_verifies_when_one_matches(webhooks: StripeWebhooks) -> None:
    body = encode(stripe_event())
    mine = signature_header(body)
    theirs = signature_header(body, secret="whsec_other").split(",")[1]
    assert webhooks.parse_webhook(body, {"Stripe-Signature": f"{mine},{theirs}"}).outcome is Outcome.PAID


def test_without_a_secret_nothing_verifies() -> None:
    body = encode(stripe_event())
    with pytest.raises(WebhookRejected, match="no webhook secret"):
        StripeWebhooks(["", ""]).parse_webhook(body, signed(body))


def test_the_simulator_signs_as_stripe_does() -> None:
    body = b'{"id":"evt_1"}'
    assert sign(body, SECRET, timestamp=1_700_000_000) == signature_header(body, timestamp=1_700_000_000)


@pytest.mark.parametrize(("outcome", "expected"), [("pay", Outcome.PAID), ("fail", Outcome.FAILED)])
def test_a_simulated_webhook_verifies_and_reads_back(webhooks: StripeWebhooks, outcome: str, expected: Outcome) -> None:
    view = demo_payment_view("12.34", "EUR")
    body, headers = StripeSimulator(SECRET).simulate(view, outcome)
    event = webhooks.parse_webhook(body, headers)
    assert event.outcome is expected
    assert event.reference == view.reference
    assert event.paid == (view_price(view) if expected is Outcome.PAID else None)


def test_a_simulated_webhook_for_a_zero_decimal_currency_reads_back(webhooks: StripeWebhooks) -> None:
    view = demo_payment_view("1500", "JPY")
    body, headers = StripeSimulator(SECRET).simulate(view, "pay")
    assert webhooks.parse_webhook(body, headers).paid == Money.of("1500", "JPY")


def view_price(view: PaymentView) -> Money:
    return Money.of(view.amount, view.currency)
