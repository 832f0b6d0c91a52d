"""Initiating a Stripe payment opens a real Checkout Session (at the fake Stripe, over HTTP)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from domain.wallet import Wallet
from tests.integration.fake_stripe import API_KEY, Failure, FakeStripe, unreachable_url
from tests.integration.stripe_support import PUBLIC_BASE_URL, StripeApp, stripe_app

pytestmark = pytest.mark.integration


def test_stripe_is_offered_for_real_once_its_keys_are_set(app: StripeApp) -> None:
    offers = {offer["name"]: offer for offer in app.client.get("/api/payments/gateways").json()}
    assert offers["stripe"]["demo"] is False
    assert offers["stripe"]["min_amount"]["USD"] == "0.50"


@pytest.mark.parametrize("missing", ["stripe_secret_key", "stripe_webhook_secrets"])
def test_stripe_is_not_offered_without_both_keys(fake: FakeStripe, sqlite_url: str, missing: str) -> None:
    overrides: dict[str, Any] = {missing: "" if missing == "stripe_secret_key" else ()}
    with stripe_app(fake, sqlite_url, **overrides) as app:
        assert "stripe" not in {offer["name"] for offer in app.client.get("/api/payments/gateways").json()}
        assert app.initiate().status_code == 422


def test_initiate_creates_a_checkout_session_with_the_payment_in_it(app: StripeApp) -> None:
    before = int(time.time())
    answer = app.initiate("25.00", "USD", email="payer@example.com")
    assert answer.status_code == 201, answer.text
    payment = answer.json()
    (request,) = app.fake.created()
    form = request.form
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["idempotency-key"] == f"mcpay-checkout-{payment['payment_id']}"
    assert form["mode"] == "payment"
    assert form["line_items[0][quantity]"] == "1"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["line_items[0][price_data][unit_amount]"] == "2500"
    assert form["line_items[0][price_data][product_data][name]"] == "25.00 Mycelium Credits"
    assert form["client_reference_id"] == payment["reference"]
    assert form["metadata[payment_id]"] == payment["payment_id"]
    assert form["payment_intent_data[metadata][payment_id]"] == payment["payment_id"]
    owner = app.services.ledger.payment(UUID(payment["payment_id"])).user_id
    wallet = str(Wallet.create_id(owner))  # echoed in its events: read with the payment (ADR 57)
    assert form["metadata[wallet_id]"] == form["payment_intent_data[metadata][wallet_id]"] == wallet
    assert form["customer_email"] == "payer@example.com"
    page = f"{PUBLIC_BASE_URL}/#/payments/{payment['payment_id']}"
    assert form["success_url"] == page + "?session_id={CHECKOUT_SESSION_ID}"
    assert form["cancel_url"] == page + "?checkout=cancelled"
    assert before + 30 * 60 <= int(form["expires_at"]) <= before + 24 * 3600
    session = app.fake.only_session()
    assert payment["payment_url"] == session["url"]
    assert payment["status"] == "pending"
    assert payment["gateway"] == "stripe"


def test_a_zero_decimal_currency_is_sent_in_whole_units(fake: FakeStripe, sqlite_url: str) -> None:
    rates = {"USD": Decimal(1), "JPY": Decimal("0.0067")}
    with stripe_app(fake, sqlite_url, credit_rates=rates) as app:
        payment, _session = app.pending_payment("1500", "JPY")
        assert app.fake.created()[0].form["line_items[0][price_data][unit_amount]"] == "1500"
        assert app.fake.created()[0].form["line_items[0][price_data][currency]"] == "jpy"
        app.paid(payment)
        assert app.balance() == Decimal("10.05")


def test_without_an_email_none_is_sent(app: StripeApp) -> None:
    app.pending_payment()
    assert "customer_email" not in app.fake.created()[0].form


def test_a_create_whose_answer_was_lost_is_retried_and_finds_the_same_session(app: StripeApp) -> None:
    app.fake.fail_next(Failure(500, create_first=True))
    answer = app.initiate()
    assert answer.status_code == 201, answer.text
    attempts = app.fake.created()
    assert len(attempts) == 2
    assert len({attempt.headers["idempotency-key"] for attempt in attempts}) == 1
    assert len(app.fake.sessions) == 1
    assert answer.json()["payment_url"] == app.fake.only_session()["url"]


def test_a_dropped_connection_is_retried(app: StripeApp) -> None:
    app.fake.fail_next(Failure(0))
    assert app.initiate().status_code == 201
    assert len(app.fake.sessions) == 1


def test_stripe_down_is_a_503_and_the_payment_is_recorded_as_failed(fake: FakeStripe, sqlite_url: str) -> None:
    with stripe_app(fake, sqlite_url, api_base=unreachable_url()) as app:
        answer = app.initiate()
        assert answer.status_code == 503
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["type"] == "/problems/gateway-unavailable"
        assert "Stripe could not be reached" in problem["detail"]
        (payment,) = app.payments()
        assert payment["status"] == "failed"
        assert payment["payment_url"] is None


def test_stripe_failing_on_every_attempt_is_a_503_after_two_retries(app: StripeApp) -> None:
    app.fake.fail_next(Failure(500), times=3)
    answer = app.initiate()
    assert answer.status_code == 503
    assert len(app.fake.created()) == 3
    assert app.payments()[0]["status"] == "failed"


def test_stripe_refusing_is_a_502_naming_stripes_reason(app: StripeApp) -> None:
    app.fake.fail_next(
        Failure(400, "invalid_request_error", "Amount must convert to at least 50 cents.", code="amount_too_small")
    )
    answer = app.initiate()
    assert answer.status_code == 502
    problem = answer.json()
    assert problem["type"] == "/problems/gateway-refused"
    assert "amount_too_small" in problem["detail"]
    assert "at least 50 cents" in problem["detail"]
    assert len(app.fake.created()) == 1  # a refusal is not retried
    assert app.payments()[0]["status"] == "failed"


def test_a_rejected_api_key_is_a_502_that_does_not_show_the_key(fake: FakeStripe, sqlite_url: str) -> None:
    with stripe_app(fake, sqlite_url, stripe_secret_key="sk_test_wrongkey987654321") as app:
        answer = app.initiate()
        assert answer.status_code == 502
        assert "wrongkey987654321" not in answer.text
        assert "sk_test_" not in answer.text
        payment = app.payments()[0]
        assert payment["status"] == "failed"


def test_an_idempotency_key_replay_opens_no_second_session(app: StripeApp) -> None:
    headers = {**app.auth, "Idempotency-Key": "order-1"}
    body = {"amount": "25.00", "currency": "USD", "gateway": "stripe"}
    first = app.client.post("/api/payments/initiate", json=body, headers=headers)
    again = app.client.post("/api/payments/initiate", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["payment_url"] == again.json()["payment_url"]
    assert len(app.fake.created()) == 1


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b'[{"id": "cs_test_1", "object": "checkout.session", "url": "https://checkout.stripe.test/x"}]', "JSON list"),
        (b'{"id": "cs_test_1", "object": "checkout.session", "status": "open"}', "has no url"),
        (b'{"object": "checkout.session", "url": "https://checkout.stripe.test/x"}', "has no id"),
        (b'{"id": "cs_test_1", "object": "checkout.session", "url": 7}', "has no url"),
        (b'{"object": "list", "data": []}', "'list'"),
        (b'"cs_test_1"', "JSON str"),
        (b"<html>maintenance</html>", "not JSON"),
    ],
)
def test_a_2xx_in_an_odd_shape_is_a_502_and_the_payment_is_recorded_failed(
    app: StripeApp, body: bytes, said: str
) -> None:
    app.fake.answer_next_create_with(body)
    answer = app.initiate()
    assert answer.status_code == 502, answer.text
    problem = answer.json()
    assert problem["type"] == "/problems/gateway-refused"
    assert said in problem["detail"]
    (payment,) = app.payments()
    assert (payment["status"], payment["payment_url"]) == ("failed", None)
    reason = app.services.ledger.payment(UUID(payment["payment_id"])).status_reason
    assert reason is not None and said in reason
