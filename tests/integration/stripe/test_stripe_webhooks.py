"""Stripe webhooks through the real HTTP API: verified, deduplicated on the Stripe object, credited once."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest

from application.replay import ledger_events
from tests.integration.fake_stripe import FakeStripe
from tests.integration.stripe_support import (
    OLD_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    StripeApp,
    served,
    stripe_app,
    stripe_event,
    stripe_signature,
)
from tests.integration.support import event_counts

pytestmark = pytest.mark.integration

STORES = ["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


def test_a_paid_session_confirms_the_payment_and_credits_the_wallet(fake: FakeStripe, store: str) -> None:
    with stripe_app(fake, store) as app:
        payment, session = app.pending_payment("25.00", "USD")
        session = fake.complete(session["id"])
        answer = app.deliver("checkout.session.completed", session, event_id="evt_paid_1")
        assert answer.status_code == 200
        assert answer.json() == {"received": True, "result": "confirmed"}
        assert app.payment(payment["payment_id"])["status"] == "confirmed"
        wallet = app.wallet()
        assert wallet["balance"] == "25.00"
        (entry,) = wallet["transactions"]
        assert (entry["type"], entry["amount"], entry["payment_id"]) == ("top_up", "25.00", payment["payment_id"])


def test_the_confirmation_keeps_stripes_evidence(app: StripeApp) -> None:
    _payment, session = app.pending_payment()
    session = app.fake.complete(session["id"])
    body = json.dumps(stripe_event("checkout.session.completed", session, "evt_evidence")).encode()
    signature = stripe_signature(body)
    assert app.post_webhook(body, {"Stripe-Signature": signature}).json()["result"] == "confirmed"
    (confirmed,) = [e for _, e in ledger_events(app.services.ledger) if type(e).__name__ == "PaymentConfirmed"]
    assert confirmed.evidence["gateway_event_id"] == "evt_evidence"
    assert confirmed.evidence["object_id"] == session["id"]
    assert confirmed.evidence["payment_intent"] == session["payment_intent"]
    assert confirmed.evidence["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert confirmed.evidence["signature_header"] == signature
    assert WEBHOOK_SECRET not in json.dumps(confirmed.evidence)


def test_sixteen_concurrent_deliveries_credit_once(fake: FakeStripe, store: str) -> None:
    with stripe_app(fake, store) as app:
        _payment, session = app.pending_payment()
        body = json.dumps(stripe_event("checkout.session.completed", fake.complete(session["id"]))).encode()
        headers = {"Stripe-Signature": stripe_signature(body), "Content-Type": "application/json"}
        barrier = threading.Barrier(16)

        def deliver(base: str) -> httpx.Response:
            with httpx.Client(base_url=base, timeout=60) as client:
                barrier.wait(timeout=30)
                return client.post("/api/webhooks/stripe", content=body, headers=headers)

        with served(app.services) as base, ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(deliver, [base] * 16))
        assert [answer.status_code for answer in answers] == [200] * 16
        results = sorted(answer.json()["result"] for answer in answers)
        assert results == ["confirmed"] + ["duplicate"] * 15
        assert app.balance() == Decimal("25.00")
        counts = event_counts(app.services.ledger)
        assert (counts["PaymentConfirmed"], counts["CreditsToppedUp"], counts["GatewayObjectLinked"]) == (1, 1, 1)


def test_another_event_object_about_the_same_session_is_a_duplicate(app: StripeApp) -> None:
    _payment, session = app.pending_payment()
    session = app.fake.complete(session["id"])
    assert app.deliver("checkout.session.completed", session, event_id="evt_a").json()["result"] == "confirmed"
    again = app.deliver("checkout.session.completed", session, event_id="evt_b")
    also = app.deliver("checkout.session.async_payment_succeeded", session, event_id="evt_c")
    assert (again.json()["result"], also.json()["result"]) == ("duplicate", "duplicate")
    assert app.balance() == Decimal("25.00")


def _signed_otherwise(body: bytes, how: str) -> dict[str, str]:
    if how == "wrong secret":
        return {"Stripe-Signature": stripe_signature(body, secret="whsec_not_ours_123")}
    if how == "stale timestamp":
        return {"Stripe-Signature": stripe_signature(body, timestamp=int(time.time()) - 301)}
    if how == "garbled header":
        return {"Stripe-Signature": "t=now,v1=not-hex;;"}
    if how == "tampered body":
        return {"Stripe-Signature": stripe_signature(body.replace(b"2500", b"2400"))}
    return {}


@pytest.mark.parametrize(
    "how", ["wrong secret", "stale timestamp", "garbled header", "missing header", "tampered body"]
)
def test_a_delivery_that_fails_verification_is_a_400_and_changes_nothing(app: StripeApp, how: str) -> None:
    payment, session = app.pending_payment()
    body = json.dumps(stripe_event("checkout.session.completed", app.fake.complete(session["id"]))).encode()
    answer = app.post_webhook(body, _signed_otherwise(body, how))
    assert answer.status_code == 400
    assert answer.json()["type"] == "/problems/webhook-rejected"
    assert WEBHOOK_SECRET not in answer.text
    assert app.payment(payment["payment_id"])["status"] == "pending"
    assert app.balance() == Decimal("0.00")


def test_during_rotation_either_secret_verifies(fake: FakeStripe, sqlite_url: str) -> None:
    with stripe_app(fake, sqlite_url, stripe_webhook_secrets=(WEBHOOK_SECRET, OLD_WEBHOOK_SECRET)) as app:
        _first, first_session = app.pending_payment()
        _second, second_session = app.pending_payment()
        old = app.deliver("checkout.session.completed", fake.complete(first_session["id"]), secret=OLD_WEBHOOK_SECRET)
        new = app.deliver("checkout.session.completed", fake.complete(second_session["id"]), secret=WEBHOOK_SECRET)
        assert (old.json()["result"], new.json()["result"]) == ("confirmed", "confirmed")
        assert app.balance() == Decimal("50.00")


def test_a_header_with_both_secrets_signatures_verifies(app: StripeApp) -> None:
    _payment, session = app.pending_payment()
    body = json.dumps(stripe_event("checkout.session.completed", app.fake.complete(session["id"]))).encode()
    ours = stripe_signature(body)
    theirs = stripe_signature(body, secret="whsec_other_endpoint").split(",")[1]
    assert app.post_webhook(body, {"Stripe-Signature": f"{ours},{theirs}"}).json()["result"] == "confirmed"


@pytest.mark.parametrize(("amount_total", "currency"), [(2400, "usd"), (2500, "eur"), (2600, "usd")])
def test_a_paid_amount_or_currency_that_differs_needs_review_and_credits_nothing(
    app: StripeApp, amount_total: int, currency: str
) -> None:
    payment, session = app.pending_payment("25.00", "USD")
    paid = {**app.fake.complete(session["id"]), "amount_total": amount_total, "currency": currency}
    assert app.deliver("checkout.session.completed", paid).json()["result"] == "needs_review"
    assert app.payment(payment["payment_id"])["status"] == "needs_review"
    assert app.balance() == Decimal("0.00")


def test_a_delayed_method_stays_pending_until_it_succeeds(app: StripeApp) -> None:
    payment, session = app.pending_payment()
    unpaid = app.fake.complete(session["id"], paid=False)
    assert app.deliver("checkout.session.completed", unpaid).json()["result"] == "pending"
    assert app.payment(payment["payment_id"])["status"] == "pending"
    assert app.balance() == Decimal("0.00")
    succeeded = app.fake.settle_delayed(session["id"], succeeded=True)
    assert app.deliver("checkout.session.async_payment_succeeded", succeeded).json()["result"] == "confirmed"
    assert app.payment(payment["payment_id"])["status"] == "confirmed"
    assert app.balance() == Decimal("25.00")


def test_a_delayed_method_that_fails_fails_the_payment(app: StripeApp) -> None:
    payment, session = app.pending_payment()
    app.deliver("checkout.session.completed", app.fake.complete(session["id"], paid=False))
    failed = app.fake.settle_delayed(session["id"], succeeded=False)
    assert app.deliver("checkout.session.async_payment_failed", failed).json()["result"] == "failed"
    assert app.payment(payment["payment_id"])["status"] == "failed"
    assert app.balance() == Decimal("0.00")


def test_an_expired_session_expires_a_pending_payment(app: StripeApp) -> None:
    payment, session = app.pending_payment()
    assert app.deliver("checkout.session.expired", app.fake.expire(session["id"])).json()["result"] == "expired"
    assert app.payment(payment["payment_id"])["status"] == "expired"


def test_a_late_expiry_after_confirmation_is_ignored(app: StripeApp) -> None:
    payment, _ = app.pending_payment()
    session = app.paid(payment)
    late = {**session, "status": "expired"}
    assert app.deliver("checkout.session.expired", late).json()["result"] == "ignored"
    assert app.payment(payment["payment_id"])["status"] == "confirmed"
    assert app.balance() == Decimal("25.00")
    assert event_counts(app.services.ledger)["GatewayEventIgnored"] == 1


def test_an_unknown_reference_is_accepted_and_recorded_as_unmatched(app: StripeApp) -> None:
    stranger = {
        "id": "cs_test_stranger",
        "object": "checkout.session",
        "amount_total": 999,
        "currency": "usd",
        "client_reference_id": "MCNOSUCHPAYMENT",
        "payment_intent": "pi_test_stranger",
        "payment_status": "paid",
        "status": "complete",
    }
    answer = app.deliver("checkout.session.completed", stranger)
    assert answer.status_code == 200
    assert answer.json()["result"] == "unmatched"
    assert app.deliver("checkout.session.completed", stranger).json()["result"] == "unmatched"
    assert event_counts(app.services.ledger)["UnmatchedGatewayEventRecorded"] == 1


def test_an_event_type_mcpay_does_not_act_on_is_accepted_and_ignored(app: StripeApp) -> None:
    answer = app.deliver("customer.created", {"id": "cus_test_1", "object": "customer"})
    assert (answer.status_code, answer.json()["result"]) == (200, "ignored")
