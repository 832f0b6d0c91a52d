"""Reconciliation asks Stripe about pending payments, so a webhook that never came loses no credit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.replay import ledger_events
from tests.integration.fake_stripe import Failure, FakeStripe
from tests.integration.stripe_support import StripeApp, charge, stripe_app
from tests.integration.support import event_counts

pytestmark = pytest.mark.integration


def test_a_paid_session_whose_webhook_never_came_is_confirmed_and_credited(app: StripeApp) -> None:
    payment, session = app.pending_payment()
    paid = app.fake.complete(session["id"])
    report = app.services.reconciler.run_once()
    assert (report.examined, report.outcomes, report.errors) == (1, {"confirmed": 1}, 0)
    assert app.payment(payment["payment_id"])["status"] == "confirmed"
    assert app.balance() == Decimal("25.00")
    retrieved = [r for r in app.fake.requests if r.method == "GET" and r.path.startswith("/v1/checkout/")]
    assert [r.path for r in retrieved] == [f"/v1/checkout/sessions/{session['id']}"]
    # The webhook arriving late is the same thing again.
    assert app.deliver("checkout.session.completed", paid).json()["result"] == "duplicate"
    assert app.balance() == Decimal("25.00")
    assert event_counts(app.services.ledger)["CreditsToppedUp"] == 1


def test_a_reconciled_confirmation_keeps_what_stripe_answered(app: StripeApp) -> None:
    _, session = app.pending_payment()
    paid = app.fake.complete(session["id"])
    app.services.reconciler.run_once()
    events = ledger_events(app.services.ledger)
    (confirmed,) = [e for _, e in events if type(e).__name__ == "PaymentConfirmed"]
    assert confirmed.evidence["source"] == "reconciliation"
    assert confirmed.evidence["object_id"] == session["id"]
    assert confirmed.evidence["payment_intent"] == paid["payment_intent"]
    assert len(confirmed.evidence["response_sha256"]) == 64
    assert confirmed.evidence["stripe_request_id"].startswith("req_")


def test_a_refund_after_a_reconciled_confirmation_finds_the_payment(app: StripeApp) -> None:
    _payment, session = app.pending_payment()
    paid = app.fake.complete(session["id"])
    app.services.reconciler.run_once()
    answer = app.deliver("charge.refunded", charge(paid, app.fake.charge_of(paid), 2500))
    assert answer.json()["result"] == "refunded"
    assert app.balance() == Decimal("0.00")


def test_an_open_session_is_no_news(app: StripeApp) -> None:
    payment, _ = app.pending_payment()
    report = app.services.reconciler.run_once()
    assert report.outcomes == {"no-news": 1}
    assert app.payment(payment["payment_id"])["status"] == "pending"


def test_a_delayed_payment_still_processing_is_no_news(app: StripeApp) -> None:
    payment, session = app.pending_payment()
    app.fake.complete(session["id"], paid=False)
    assert app.services.reconciler.run_once().outcomes == {"no-news": 1}
    assert app.payment(payment["payment_id"])["status"] == "pending"


def test_a_delayed_payment_that_failed_fails(app: StripeApp) -> None:
    payment, session = app.pending_payment()
    app.fake.complete(session["id"], paid=False)
    app.fake.settle_delayed(session["id"], succeeded=False)
    assert app.services.reconciler.run_once().outcomes == {"failed": 1}
    assert app.payment(payment["payment_id"])["status"] == "failed"


def test_an_expired_session_expires_the_payment(app: StripeApp) -> None:
    payment, session = app.pending_payment()
    expired = app.fake.expire(session["id"])
    assert app.services.reconciler.run_once().outcomes == {"expired": 1}
    assert app.payment(payment["payment_id"])["status"] == "expired"
    assert app.deliver("checkout.session.expired", expired).json()["result"] == "duplicate"


def test_stripe_failing_during_reconciliation_is_counted_and_changes_nothing(app: StripeApp) -> None:
    payment, session = app.pending_payment()
    app.fake.complete(session["id"])
    app.fake.fail_next(Failure(503), times=3)
    report = app.services.reconciler.run_once()
    assert (report.examined, report.errors, report.outcomes) == (1, 1, {})
    assert app.payment(payment["payment_id"])["status"] == "pending"
    assert app.services.reconciler.run_once().outcomes == {"confirmed": 1}


def test_a_payment_younger_than_the_minimum_age_is_left_alone(fake: FakeStripe, sqlite_url: str) -> None:
    with stripe_app(fake, sqlite_url, reconcile_min_age_seconds=600) as app:
        _, session = app.pending_payment()
        app.fake.complete(session["id"])
        assert app.services.reconciler.run_once().examined == 0
