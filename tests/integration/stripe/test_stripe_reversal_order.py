"""Reversals in any order, won disputes, lost reversal webhooks: through HTTP against the fake Stripe."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapters.identity import Ed25519Signatures
from application.audit.verify import verify_export
from tests.integration.fake_stripe import FakeStripe
from tests.integration.stripe_support import StripeApp, stripe_app
from tests.integration.support import event_counts

pytestmark = pytest.mark.integration


def transactions(app: StripeApp) -> list[tuple[str, str, str]]:
    return [(t["type"], t["amount"], t["balance_after"]) for t in reversed(app.wallet()["transactions"])]


def completed_at_stripe(app: StripeApp) -> tuple[dict[str, Any], dict[str, Any]]:
    """A payment whose session was paid at Stripe; its completion webhook not delivered yet."""
    payment, session = app.pending_payment()
    return payment, app.fake.complete(session["id"])


def result(app: StripeApp, kind: str, obj: dict[str, Any]) -> str:
    answer = app.deliver(kind, obj)
    assert answer.status_code == 200, answer.text
    outcome: str = answer.json()["result"]
    return outcome


@pytest.mark.parametrize("store", ["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)])
def test_a_refund_and_a_dispute_before_the_completion_are_applied_when_it_arrives(
    fake: FakeStripe, store: str, request: pytest.FixtureRequest
) -> None:
    with stripe_app(fake, request.getfixturevalue(store)) as app:
        payment, session = completed_at_stripe(app)
        assert result(app, "charge.refunded", fake.refund(session, 500)) == "held"
        dispute = fake.open_dispute(session)
        assert result(app, "charge.dispute.created", dispute) == "held"
        assert result(app, "charge.dispute.created", dispute) == "duplicate"
        assert (app.balance(), app.payment(payment["payment_id"])["status"]) == (Decimal("0.00"), "pending")

        assert result(app, "checkout.session.completed", session) == "confirmed"
        assert app.payment(payment["payment_id"])["status"] == "disputed"
        assert transactions(app) == [
            ("top_up", "25.00", "25.00"),
            ("reversal", "5.00", "20.00"),
            ("reversal", "20.00", "0.00"),
        ]
        assert result(app, "charge.dispute.created", dispute) == "duplicate"  # once applied, still once


def test_a_won_dispute_gives_back_what_it_took_exactly_once(app: StripeApp) -> None:
    payment, session = app.pending_payment()
    session = app.paid(payment)
    assert result(app, "charge.refunded", app.fake.refund(session, 1000)) == "refunded"
    dispute = app.fake.open_dispute(session)
    assert result(app, "charge.dispute.created", dispute) == "disputed"
    assert app.balance() == Decimal("0.00")

    won = app.fake.close_dispute(dispute["id"], "won")
    assert result(app, "charge.dispute.closed", won) == "dispute_won"
    assert result(app, "charge.dispute.funds_reinstated", won) == "duplicate"  # another event, the same news
    assert result(app, "charge.dispute.closed", won) == "duplicate"
    assert app.balance() == Decimal("15.00")  # the refund still stands
    assert app.payment(payment["payment_id"])["status"] == "refunded"
    assert transactions(app)[-1] == ("reinstatement", "15.00", "15.00")
    assert event_counts(app.services.ledger)["CreditsReinstated"] == 1


def test_a_dispute_lost_gives_nothing_back(app: StripeApp) -> None:
    payment, _ = app.pending_payment()
    session = app.paid(payment)
    dispute = app.fake.open_dispute(session)
    result(app, "charge.dispute.created", dispute)
    assert result(app, "charge.dispute.closed", app.fake.close_dispute(dispute["id"], "lost")) == "ignored"
    assert (app.balance(), app.payment(payment["payment_id"])["status"]) == (Decimal("0.00"), "disputed")


def test_a_won_dispute_that_arrives_before_the_dispute_takes_nothing(app: StripeApp) -> None:
    payment, _ = app.pending_payment()
    session = app.paid(payment)
    dispute = app.fake.open_dispute(session)
    assert result(app, "charge.dispute.closed", app.fake.close_dispute(dispute["id"], "won")) == "dispute_won"
    assert result(app, "charge.dispute.created", dispute) == "disputed"
    assert (app.balance(), app.payment(payment["payment_id"])["status"]) == (Decimal("25.00"), "confirmed")


def test_reconciliation_applies_refunds_and_disputes_whose_webhooks_were_lost(
    fake: FakeStripe, sqlite_url: str
) -> None:
    with stripe_app(fake, sqlite_url, ledger_signing_key="22" * 32) as app:
        refunded, _ = app.pending_payment()
        refunded_session = app.paid(refunded)
        disputed, _ = app.pending_payment("10.00")
        disputed_session = app.paid(disputed)
        fake.refund(refunded_session, 2500)  # no webhook reaches mcpay for any of these
        dispute = fake.open_dispute(disputed_session)

        report = app.services.reconciler.run_once()
        assert report.outcomes == {"refunded": 1, "disputed": 1}
        assert app.balance() == Decimal("0.00")
        assert app.payment(refunded["payment_id"])["status"] == "refunded"

        fake.close_dispute(dispute["id"], "won")
        assert app.services.reconciler.run_once().outcomes == {"dispute_won": 1}
        assert app.services.reconciler.run_once().outcomes == {}  # asked again: nothing new
        assert app.balance() == Decimal("10.00")
        asked = [r.path for r in fake.requests if r.method == "GET" and r.path in ("/v1/charges", "/v1/disputes")]
        assert asked.count("/v1/charges") == 6 and asked.count("/v1/disputes") == 3  # disputes only when disputed

        audit = app.services.audit
        assert audit.public_key is not None
        verification = verify_export(audit.export(), audit.public_key, Ed25519Signatures())
        assert verification.ok, verification
        assert sum(verification.balances.values()) == Decimal("10.00")


def test_reconciliation_asks_about_a_bounded_number_of_payments_a_run_and_comes_round_to_all(
    fake: FakeStripe, sqlite_url: str
) -> None:
    with stripe_app(fake, sqlite_url, reconcile_reversal_checks=2) as app:
        sessions = [app.paid(app.pending_payment()[0]) for _ in range(3)]
        fake.refund(sessions[2], 2500)
        first, second = app.services.reconciler.run_once(), app.services.reconciler.run_once()
        assert (first.asked_about_reversals, first.outcomes) == (2, {})
        assert (second.asked_about_reversals, second.outcomes) == (
            2,
            {"refunded": 1},
        )  # the third, then round to the first
        assert app.balance() == Decimal("50.00")


def test_credited_payments_older_than_the_window_are_not_asked_about(fake: FakeStripe, sqlite_url: str) -> None:
    with stripe_app(fake, sqlite_url, reconcile_reversal_window_days=0) as app:
        fake.refund(app.paid(app.pending_payment()[0]), 2500)
        assert app.services.reconciler.run_once().asked_about_reversals == 0
        assert app.balance() == Decimal("25.00")
