"""The payment use cases, end to end through the bootstrapped services, on POPO, SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.errors import IdempotencyConflict, NotFound, WebhookRejected
from application.payments import TopUpOrder
from application.replay import check_balances
from application.views import PaymentView
from entrypoints.bootstrap import Services
from tests.integration.read_side_support import caught_up
from tests.integration.support import event_counts, last_position

pytestmark = pytest.mark.integration

USER = "a" * 64
OTHER_USER = "b" * 64


def initiate(services: Services, amount: str, currency: str = "USD", gateway: str = "stripe") -> PaymentView:
    result = services.payments.initiate(USER, TopUpOrder(amount, currency, gateway))
    assert not result.replayed
    return result.payment


def deliver(services: Services, payment: PaymentView, outcome: str) -> str:
    body, headers = services.simulators[payment.gateway].simulate(payment, outcome)
    return services.payments.receive_webhook(payment.gateway, body, headers)


def test_initiated_payment_is_pending_with_locked_credits_and_a_checkout(services: Services) -> None:
    payment = initiate(services, "12.34", "EUR")

    stored = services.payments.payment_of(USER, payment.payment_id)
    assert stored.status == "pending"
    assert (stored.amount, stored.currency) == (Decimal("12.34"), "EUR")
    assert stored.credits == Decimal("13.32")  # 12.34 x 1.08 = 13.3272, rounded down
    assert stored.payment_url is not None
    assert stored.payment_url.endswith(f"/demo/checkout/{payment.payment_id}")
    assert stored.reference.isalnum()
    assert stored.reference == stored.reference.upper()
    assert caught_up(services).wallet_of(USER).balance == Decimal("0.00")


def test_paid_webhook_credits_the_wallet_once_however_often_it_arrives(services: Services) -> None:
    payment = initiate(services, "10.00")
    body, headers = services.simulators["stripe"].simulate(payment, "pay")

    assert services.payments.receive_webhook("stripe", body, headers) == "confirmed"
    position = last_position(services.ledger)
    assert services.payments.receive_webhook("stripe", body, headers) == "duplicate"
    assert deliver(services, payment, "pay") == "duplicate"  # another delivery of the same completion

    assert services.payments.payment_of(USER, payment.payment_id).status == "confirmed"
    wallet = caught_up(services).wallet_of(USER)
    assert wallet.balance == Decimal("10.00")
    assert len(wallet.entries) == 1
    assert last_position(services.ledger) == position
    counts = event_counts(services.ledger)
    assert counts["PaymentConfirmed"] == 1
    assert counts["CreditsToppedUp"] == 1


def test_clickpesa_payment_credits_at_its_locked_rate(services: Services) -> None:
    payment = initiate(services, "10000", "TZS", gateway="clickpesa")
    assert payment.credits == Decimal("3.70")

    assert deliver(services, payment, "pay") == "confirmed"
    assert deliver(services, payment, "pay") == "held"  # another ClickPesa payment record: for an admin, no credit

    assert services.payments.payment_of(USER, payment.payment_id).status == "confirmed"
    assert caught_up(services).wallet_of(USER).balance == Decimal("3.70")
    assert event_counts(services.ledger)["CreditsToppedUp"] == 1


def test_failed_payment_credits_nothing_and_a_late_payment_goes_to_review(services: Services) -> None:
    payment = initiate(services, "10.00")

    assert deliver(services, payment, "fail") == "failed"
    assert services.payments.payment_of(USER, payment.payment_id).status == "failed"
    assert deliver(services, payment, "fail") == "duplicate"
    assert deliver(services, payment, "pay") == "needs_review"

    assert services.payments.payment_of(USER, payment.payment_id).status == "needs_review"
    assert caught_up(services).wallet_of(USER).balance == Decimal("0.00")
    assert caught_up(services).wallet_of(USER).entries == ()
    assert event_counts(services.ledger)["CreditsToppedUp"] == 0


def test_a_forged_webhook_is_rejected_and_records_nothing(services: Services) -> None:
    payment = initiate(services, "10.00")
    body, headers = services.simulators["stripe"].simulate(payment, "pay")
    forged = body.replace(b'"amount_total":1000', b'"amount_total":9000')
    assert forged != body
    position = last_position(services.ledger)

    with pytest.raises(WebhookRejected):
        services.payments.receive_webhook("stripe", forged, headers)

    assert last_position(services.ledger) == position
    assert services.payments.payment_of(USER, payment.payment_id).status == "pending"


def test_idempotency_key_replays_the_same_payment_and_refuses_another_body(services: Services) -> None:
    order = TopUpOrder("25.00", "USD", "stripe")
    first = services.payments.initiate(USER, order, idempotency_key="key-1")
    again = services.payments.initiate(USER, TopUpOrder("25", "usd", "stripe"), idempotency_key="key-1")

    assert not first.replayed
    assert again.replayed
    assert again.payment.payment_id == first.payment.payment_id
    with pytest.raises(IdempotencyConflict):
        services.payments.initiate(USER, TopUpOrder("26.00", "USD", "stripe"), idempotency_key="key-1")
    other = services.payments.initiate(OTHER_USER, order, idempotency_key="key-1")  # keys are per user

    assert other.payment.payment_id != first.payment.payment_id
    assert [view.payment_id for view in caught_up(services).payments_of(USER)] == [first.payment.payment_id]
    assert event_counts(services.ledger)["PaymentInitiated"] == 2


def test_payments_of_lists_only_the_users_own_newest_first(services: Services) -> None:
    created = [initiate(services, amount).payment_id for amount in ("1.00", "2.00", "3.00")]
    services.payments.initiate(OTHER_USER, TopUpOrder("4.00", "USD", "stripe"))

    listed = caught_up(services).payments_of(USER)

    assert [view.payment_id for view in listed] == list(reversed(created))
    assert [view.amount for view in listed] == [Decimal("3.00"), Decimal("2.00"), Decimal("1.00")]
    with pytest.raises(NotFound):
        services.payments.payment_of(OTHER_USER, created[0])


def test_wallet_transactions_are_newest_first_with_running_balances(services: Services) -> None:
    first = initiate(services, "10.00")
    second = initiate(services, "5.00", "EUR")
    deliver(services, first, "pay")
    deliver(services, second, "pay")

    wallet = caught_up(services).wallet_of(USER)

    assert wallet.balance == Decimal("15.40")
    assert [(e.kind, e.payment_id, e.amount, e.balance_after) for e in wallet.entries] == [
        ("top_up", second.payment_id, Decimal("5.40"), Decimal("15.40")),
        ("top_up", first.payment_id, Decimal("10.00"), Decimal("10.00")),
    ]
    assert wallet.entries[0].at >= wallet.entries[1].at


def test_replay_rebuilds_the_same_balances_as_the_wallets(services: Services) -> None:
    for user, amount in ((USER, "10.00"), (USER, "2.50"), (OTHER_USER, "7.00")):
        payment = services.payments.initiate(user, TopUpOrder(amount, "USD", "stripe")).payment
        deliver(services, payment, "pay")
    failed = services.payments.initiate(OTHER_USER, TopUpOrder("99.00", "USD", "stripe")).payment
    deliver(services, failed, "fail")

    checks = check_balances(services.ledger)

    assert {check.user_id: check.replayed for check in checks} == {USER: Decimal("12.50"), OTHER_USER: Decimal("7.00")}
    assert all(check.agrees for check in checks)
