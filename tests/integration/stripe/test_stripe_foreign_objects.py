"""Only the object mcpay created credits; money news that may not be applied goes in front of an admin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from nacl.signing import SigningKey

from tests.integration.fake_stripe import FakeStripe
from tests.integration.stripe_support import StripeApp, charge, stripe_app, stripe_event, stripe_signature
from tests.integration.support import event_counts, sign_in

pytestmark = pytest.mark.integration

ADMIN = SigningKey.generate()


@pytest.fixture
def desk(fake: FakeStripe, sqlite_url: str) -> Iterator[StripeApp]:
    admin = ADMIN.verify_key.encode().hex()
    with stripe_app(fake, sqlite_url, admin_public_keys=frozenset({admin})) as app:
        yield app


def admin_view(app: StripeApp, payment_id: str) -> dict[str, Any]:
    auth = sign_in(app.client, ADMIN).auth
    items = app.client.get("/api/admin/payments", headers=auth).json()["items"]
    found: dict[str, Any] = next(item for item in items if item["payment_id"] == payment_id)
    return found


def result(app: StripeApp, kind: str, obj: dict[str, Any]) -> str:
    answer = app.deliver(kind, obj)
    assert answer.status_code == 200, answer.text
    outcome: str = answer.json()["result"]
    return outcome


def test_a_session_that_is_not_the_payments_own_checkout_credits_nothing(desk: StripeApp) -> None:
    payment, session = desk.pending_payment()
    session = desk.fake.complete(session["id"])
    stranger = {**session, "id": "cs_test_not_the_one_we_opened"}
    assert result(desk, "checkout.session.completed", stranger) == "needs_review"
    assert desk.balance() == Decimal("0.00")
    seen = admin_view(desk, payment["payment_id"])
    assert (seen["status"], seen["awaiting_admin"]) == ("needs_review", True)
    assert "cs_test_not_the_one_we_opened" in seen["status_reason"]


def test_a_session_naming_another_payment_in_its_metadata_credits_nothing(desk: StripeApp) -> None:
    mine, session = desk.pending_payment()
    other, _ = desk.pending_payment()
    session = desk.fake.complete(session["id"])
    confused = {**session, "metadata": {**session["metadata"], "payment_id": other["payment_id"]}}
    assert result(desk, "checkout.session.completed", confused) == "needs_review"
    assert desk.balance() == Decimal("0.00")
    assert other["payment_id"] in desk.payment(mine["payment_id"])["status_reason"]
    assert desk.payment(other["payment_id"])["status"] == "pending"


def test_an_event_of_the_other_stripe_mode_is_recorded_and_credits_nothing(desk: StripeApp) -> None:
    payment, session = desk.pending_payment()
    session = desk.fake.complete(session["id"])
    answer = desk.post_webhook(*_signed("checkout.session.completed", session, {"livemode": True}))
    assert (answer.status_code, answer.json()["result"]) == (200, "unmatched")
    assert desk.payment(payment["payment_id"])["status"] == "pending"
    assert event_counts(desk.services.ledger)["UnmatchedGatewayEventRecorded"] == 1


def test_a_second_paid_session_for_a_confirmed_payment_is_put_before_an_admin(desk: StripeApp) -> None:
    payment, _ = desk.pending_payment()
    session = desk.paid(payment)
    again = {**session, "id": "cs_test_paid_twice", "payment_intent": "pi_test_paid_twice"}
    assert result(desk, "checkout.session.completed", again) == "held"
    assert result(desk, "checkout.session.completed", again) == "duplicate"
    assert desk.balance() == Decimal("25.00")  # credited once

    seen = admin_view(desk, payment["payment_id"])
    assert (seen["status"], seen["needs_attention"]) == ("confirmed", True)
    (held,) = seen["held"]
    assert held["news"] == "paid" and "cs_test_paid_twice" in held["reason"] and "pi_test_paid_twice" in str(held)

    # Refunding the second charge at Stripe never touches the first payment's credits.
    second_refund = charge(again, "ch_test_paid_twice", 2500)
    assert result(desk, "charge.refunded", second_refund) == "held"
    assert desk.balance() == Decimal("25.00")

    auth = sign_in(desk.client, ADMIN).auth
    path = f"/api/admin/payments/{payment['payment_id']}/acknowledge"
    answer = desk.client.post(path, json={"note": "refunded the second charge at Stripe"}, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["needs_attention"] is False
    assert desk.client.post(path, json={"note": "again"}, headers=auth).status_code == 409


def test_a_refund_of_a_charge_in_another_currency_is_shown_to_admins_not_applied(desk: StripeApp) -> None:
    payment, _ = desk.pending_payment()
    session = desk.paid(payment)
    odd = {**charge(session, desk.fake.charge_of(session), 1000), "currency": "eur"}
    assert result(desk, "charge.refunded", odd) == "held"
    assert desk.balance() == Decimal("25.00")
    seen = admin_view(desk, payment["payment_id"])
    assert seen["needs_attention"] and "EUR" in seen["held"][0]["reason"]


def test_a_payment_in_review_that_was_refunded_meanwhile_cannot_be_credited_by_an_admin(desk: StripeApp) -> None:
    payment, session = desk.pending_payment()
    session = desk.fake.complete(session["id"])
    assert result(desk, "checkout.session.completed", {**session, "amount_total": 2000}) == "needs_review"
    assert result(desk, "charge.refunded", desk.fake.refund(session, 2000)) == "held"
    seen = admin_view(desk, payment["payment_id"])
    assert seen["held"][0]["news"] == "refunded"

    auth = sign_in(desk.client, ADMIN).auth
    confirm = {"received_amount": "20.00", "received_currency": "USD", "note": "paid less, credit what came"}
    answer = desk.client.post(f"/api/admin/payments/{payment['payment_id']}/confirm", json=confirm, headers=auth)
    assert answer.status_code == 409, answer.text
    assert "refunded" in answer.json()["detail"]
    assert desk.balance() == Decimal("0.00")
    reject = {"reason": "refunded at Stripe"}
    answer = desk.client.post(f"/api/admin/payments/{payment['payment_id']}/reject", json=reject, headers=auth)
    assert answer.json()["status"] == "rejected"


def _signed(kind: str, obj: dict[str, Any], extra: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({**stripe_event(kind, obj), **extra}).encode()
    return body, {"Stripe-Signature": stripe_signature(body)}
