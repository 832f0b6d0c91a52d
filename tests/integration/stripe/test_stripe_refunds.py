"""Refunds and disputes reverse credits: found through the payment intent linked at confirmation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapters.identity import Ed25519Signatures
from application.audit.verify import verify_export
from tests.integration.fake_stripe import FakeStripe
from tests.integration.stripe_support import StripeApp, charge, dispute, stripe_app
from tests.integration.support import event_counts

pytestmark = pytest.mark.integration


def confirmed_payment(app: StripeApp, amount: str = "25.00", currency: str = "USD") -> tuple[str, dict[str, Any]]:
    payment, _ = app.pending_payment(amount, currency)
    return payment["payment_id"], app.paid(payment)


def refund(app: StripeApp, session: dict[str, Any], amount_refunded: int) -> str:
    answer = app.deliver("charge.refunded", charge(session, app.fake.charge_of(session), amount_refunded))
    assert answer.status_code == 200, answer.text
    result: str = answer.json()["result"]
    return result


def reversals(app: StripeApp) -> list[tuple[str, str]]:
    return [
        (e["amount"], e["balance_after"]) for e in reversed(app.wallet()["transactions"]) if e["type"] == "reversal"
    ]


@pytest.mark.parametrize("store", ["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)])
def test_a_full_refund_reverses_every_credit(fake: FakeStripe, store: str, request: pytest.FixtureRequest) -> None:
    with stripe_app(fake, request.getfixturevalue(store)) as app:
        payment_id, session = confirmed_payment(app)
        assert refund(app, session, 2500) == "refunded"
        assert app.payment(payment_id)["status"] == "refunded"
        wallet = app.wallet()
        assert wallet["balance"] == "0.00"
        latest = wallet["transactions"][0]
        assert (latest["type"], latest["amount"], latest["payment_id"]) == ("reversal", "25.00", payment_id)
        counts = event_counts(app.services.ledger)
        assert (counts["PaymentRefunded"], counts["CreditsReversed"]) == (1, 1)


def test_partial_refunds_reverse_their_cumulative_share_once(app: StripeApp) -> None:
    payment_id, session = confirmed_payment(app, "10.00", "EUR")  # 10.80 MC at 1.08
    assert app.balance() == Decimal("10.80")
    assert refund(app, session, 333) == "refunded"  # 3.33 of 10.00 EUR: 3.5964 MC, rounded down
    assert app.balance() == Decimal("7.21")
    assert refund(app, session, 333) == "duplicate"  # the same refund delivered again
    assert app.balance() == Decimal("7.21")
    assert refund(app, session, 1000) == "refunded"  # the rest: everything left
    assert app.balance() == Decimal("0.00")
    assert reversals(app) == [("3.59", "7.21"), ("7.21", "0.00")]
    assert app.payment(payment_id)["status"] == "refunded"


def test_a_smaller_refund_arriving_after_a_larger_one_changes_nothing(app: StripeApp) -> None:
    _, session = confirmed_payment(app)
    assert refund(app, session, 2000) == "refunded"
    assert refund(app, session, 1000) == "ignored"
    assert app.balance() == Decimal("5.00")


def test_a_dispute_reverses_every_credit_left(app: StripeApp) -> None:
    payment_id, session = confirmed_payment(app)
    answer = app.deliver("charge.dispute.created", dispute(session, app.fake.charge_of(session)))
    assert answer.json()["result"] == "disputed"
    assert app.payment(payment_id)["status"] == "disputed"
    assert app.balance() == Decimal("0.00")
    assert reversals(app) == [("25.00", "0.00")]


def test_a_dispute_after_a_partial_refund_reverses_the_rest(app: StripeApp) -> None:
    payment_id, session = confirmed_payment(app)
    refund(app, session, 500)
    dispute_object = dispute(session, app.fake.charge_of(session))
    assert app.deliver("charge.dispute.created", dispute_object).json()["result"] == "disputed"
    assert app.deliver("charge.dispute.created", dispute_object).json()["result"] == "duplicate"
    assert app.balance() == Decimal("0.00")
    assert reversals(app) == [("5.00", "20.00"), ("20.00", "0.00")]
    assert refund(app, session, 2500) == "refunded"  # recorded: the open dispute already took everything
    assert app.balance() == Decimal("0.00")
    assert app.payment(payment_id)["status"] == "disputed"


def test_a_refund_leaves_the_credits_of_other_payments(app: StripeApp) -> None:
    _, first = confirmed_payment(app)
    confirmed_payment(app, "10.00")
    refund(app, first, 2500)
    assert app.balance() == Decimal("10.00")


def test_a_refund_of_a_payment_intent_mcpay_never_confirmed_is_held(app: StripeApp) -> None:
    stranger = {"amount_total": 2500, "currency": "usd", "payment_intent": "pi_test_not_ours"}
    answer = app.deliver("charge.refunded", charge(stranger, "ch_test_not_ours", 2500))
    assert (answer.status_code, answer.json()["result"]) == (200, "held")
    assert event_counts(app.services.ledger)["GatewayEventHeldForPayment"] == 1


def test_a_refund_of_a_payment_still_pending_credits_nothing_and_is_applied_at_confirmation(app: StripeApp) -> None:
    payment, session = app.pending_payment()
    session = app.fake.complete(session["id"])  # paid at Stripe, webhook not yet here
    answer = app.deliver("charge.refunded", charge(session, app.fake.charge_of(session), 2500))
    assert answer.json()["result"] == "held"
    assert app.payment(payment["payment_id"])["status"] == "pending"
    assert app.balance() == Decimal("0.00")
    assert app.deliver("checkout.session.completed", session).json()["result"] == "confirmed"
    assert app.payment(payment["payment_id"])["status"] == "refunded"
    assert app.balance() == Decimal("0.00")
    assert reversals(app) == [("25.00", "0.00")]


def test_an_export_with_refunds_and_disputes_verifies_offline(fake: FakeStripe, sqlite_url: str) -> None:
    with stripe_app(fake, sqlite_url, ledger_signing_key="11" * 32) as app:
        _, refunded = confirmed_payment(app, "10.00", "EUR")
        refund(app, refunded, 333)
        refund(app, refunded, 1000)
        _, disputed = confirmed_payment(app)
        refund(app, disputed, 500)
        app.deliver("charge.dispute.created", dispute(disputed, app.fake.charge_of(disputed)))
        audit = app.services.audit
        assert audit.public_key is not None
        verification = verify_export(audit.export(), audit.public_key, Ed25519Signatures())
        assert verification.ok, verification
        assert all(balance == Decimal("0.00") for balance in verification.balances.values())
