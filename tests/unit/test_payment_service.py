from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from application.errors import (
    GatewayError,
    GatewayRefused,
    GatewayUnavailable,
    IdempotencyConflict,
    Invalid,
    NotFound,
    WebhookRejected,
)
from application.gateways import GatewayEvent, Outcome
from application.ledger import Ledger
from application.payments import PaymentService, TopUpOrder
from application.replay import ledger_events
from domain.indexes import UnmatchedGatewayEvent
from domain.money import Money
from domain.payment import PaymentStatus
from tests.following import payments_of, wallet_of
from tests.unit.fakes import FakeGateway, FakeIdentifiers

pytestmark = pytest.mark.unit

RATES = {"USD": Decimal(1), "EUR": Decimal("1.08"), "TZS": Decimal("0.00037")}
ALICE = "a" * 64
BOB = "b" * 64
ORDER = TopUpOrder(amount="25", currency="USD", gateway="stripe", email="alice@example.test")


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def ids() -> FakeIdentifiers:
    return FakeIdentifiers()


@pytest.fixture
def service(ledger: Ledger, gateway: FakeGateway, ids: FakeIdentifiers) -> PaymentService:
    return PaymentService(ledger, {"stripe": gateway}, RATES, ids)


def paid(reference: str, money: Money, key: str = "stripe:cs_1:paid") -> GatewayEvent:
    return GatewayEvent("stripe", Outcome.PAID, reference, key, money, {"gateway_event_id": "evt_1"})


def event_names(ledger: Ledger) -> list[str]:
    return [type(event).__name__ for _, event in ledger_events(ledger)]


def balance(ledger: Ledger, service: PaymentService, user_id: str) -> Decimal:
    return wallet_of(ledger, user_id).balance


def test_initiate_records_a_pending_payment_and_opens_its_checkout(
    service: PaymentService, gateway: FakeGateway
) -> None:
    initiated = service.initiate(ALICE, ORDER)
    view = initiated.payment
    assert not initiated.replayed
    assert (view.status, view.amount, view.currency, view.credits) == (
        "pending",
        Decimal("25.00"),
        "USD",
        Decimal("25.00"),
    )
    assert view.payment_url == f"https://fakepay.test/pay/{view.reference}"
    [request] = gateway.requests
    assert (request.payment_id, request.reference, request.price) == (
        view.payment_id,
        view.reference,
        Money.of(25, "USD"),
    )
    assert request.customer_email == "alice@example.test"


def test_initiate_locks_credits_at_the_currency_rate(service: PaymentService) -> None:
    view = service.initiate(ALICE, TopUpOrder("50000", "TZS", "stripe")).payment
    assert view.credits == Decimal("18.50")


def test_a_confirmation_credits_the_rate_locked_at_initiation(
    service: PaymentService, ledger: Ledger, ids: FakeIdentifiers
) -> None:
    view = service.initiate(ALICE, TopUpOrder("50000", "TZS", "stripe")).payment
    repriced = PaymentService(ledger, {"stripe": FakeGateway()}, {**RATES, "TZS": Decimal("0.001")}, ids)
    assert repriced.apply(paid(view.reference, Money.of("50000", "TZS"))) == "confirmed"
    assert balance(ledger, repriced, ALICE) == Decimal("18.50")


def test_a_confirmation_credits_the_wallet(ledger: Ledger, service: PaymentService) -> None:
    view = service.initiate(ALICE, ORDER).payment
    assert service.apply(paid(view.reference, Money.of("25", "USD"))) == "confirmed"
    assert service.payment(view.payment_id).status == "confirmed"
    assert balance(ledger, service, ALICE) == Decimal("25.00")


def test_the_same_confirmation_twice_credits_once(service: PaymentService, ledger: Ledger) -> None:
    view = service.initiate(ALICE, ORDER).payment
    event = paid(view.reference, Money.of("25", "USD"))
    assert service.apply(event) == "confirmed"
    assert service.apply(event) == "duplicate"
    wallet = wallet_of(ledger, ALICE)
    assert wallet.balance == Decimal("25.00")
    assert len(wallet.entries) == 1
    assert event_names(ledger).count("CreditsToppedUp") == 1


@pytest.mark.parametrize("money", [Money.of("24.99", "USD"), Money.of("25", "EUR")], ids=str)
def test_a_mismatched_payment_needs_review_and_credits_nothing(
    service: PaymentService, ledger: Ledger, money: Money
) -> None:
    view = service.initiate(ALICE, ORDER).payment
    assert service.apply(paid(view.reference, money)) == "needs_review"
    assert service.payment(view.payment_id).status == "needs_review"
    assert balance(ledger, service, ALICE) == Decimal("0.00")
    assert ledger.wallet_of(ALICE) is None


def test_a_late_expiry_after_confirmation_is_ignored_and_recorded(service: PaymentService, ledger: Ledger) -> None:
    view = service.initiate(ALICE, ORDER).payment
    service.apply(paid(view.reference, Money.of("25", "USD")))
    expiry = GatewayEvent("stripe", Outcome.EXPIRED, view.reference, "stripe:cs_1:expired")
    assert service.apply(expiry) == "ignored"
    payment = ledger.payment(view.payment_id)
    assert payment.status is PaymentStatus.CONFIRMED
    history = list(ledger.repository.event_store.get(view.payment_id))
    assert type(history[-1]).__name__ == "GatewayEventIgnored"
    assert balance(ledger, service, ALICE) == Decimal("25.00")


def test_paid_after_failed_needs_review_without_credit(ledger: Ledger, service: PaymentService) -> None:
    view = service.initiate(ALICE, ORDER).payment
    failure = GatewayEvent("stripe", Outcome.FAILED, view.reference, "stripe:cs_1:failed")
    assert service.apply(failure) == "failed"
    assert service.apply(paid(view.reference, Money.of("25", "USD"))) == "needs_review"
    assert service.payment(view.payment_id).status == "needs_review"
    assert balance(ledger, service, ALICE) == Decimal("0.00")


def test_an_unknown_reference_is_unmatched_and_recorded_once(service: PaymentService, ledger: Ledger) -> None:
    event = paid("MCNOSUCHREF", Money.of("25", "USD"))
    assert service.apply(event) == "unmatched"
    assert service.apply(event) == "unmatched"
    assert event_names(ledger) == ["UnmatchedGatewayEventRecorded"]
    record: object = ledger.repository.get(UnmatchedGatewayEvent.create_id("stripe", event.key))
    assert isinstance(record, UnmatchedGatewayEvent)
    assert record.reference == "MCNOSUCHREF"


def test_an_event_from_another_gateway_does_not_move_the_payment(ledger: Ledger, service: PaymentService) -> None:
    view = service.initiate(ALICE, ORDER).payment
    event = GatewayEvent("clickpesa", Outcome.PAID, view.reference, "clickpesa:1:paid", Money.of("25", "USD"))
    assert service.apply(event) == "unmatched"
    assert service.payment(view.payment_id).status == "pending"
    assert balance(ledger, service, ALICE) == Decimal("0.00")


def test_a_pending_outcome_changes_nothing(service: PaymentService, ledger: Ledger) -> None:
    view = service.initiate(ALICE, ORDER).payment
    version = ledger.payment(view.payment_id).version
    assert service.apply(GatewayEvent("stripe", Outcome.PENDING, view.reference, "stripe:cs_1:pending")) == "pending"
    assert ledger.payment(view.payment_id).version == version
    assert service.payment(view.payment_id).status == "pending"


def test_an_event_naming_no_payment_is_ignored(service: PaymentService, ledger: Ledger) -> None:
    assert service.apply(GatewayEvent("stripe", Outcome.IRRELEVANT, None, "stripe:evt_9")) == "ignored"
    assert event_names(ledger) == []


@pytest.mark.parametrize("error", [GatewayUnavailable("connect timeout"), GatewayRefused("card_declined")])
def test_a_gateway_error_on_initiate_records_the_payment_as_failed_and_raises(
    service: PaymentService, gateway: FakeGateway, ids: FakeIdentifiers, ledger: Ledger, error: GatewayError
) -> None:
    gateway.error = error
    with pytest.raises(type(error)):
        service.initiate(ALICE, ORDER)
    [payment_id] = ids.issued
    payment = ledger.payment(payment_id)
    assert payment.status is PaymentStatus.FAILED
    assert payment.status_reason is not None
    assert str(error) in payment.status_reason
    assert payment.payment_url is None


def test_the_same_idempotency_key_and_body_returns_the_same_payment(
    service: PaymentService, gateway: FakeGateway
) -> None:
    first = service.initiate(ALICE, ORDER, idempotency_key="key-1")
    again = service.initiate(ALICE, TopUpOrder("25.00", "usd", "stripe", "alice@example.test"), idempotency_key="key-1")
    assert again.replayed
    assert again.payment == first.payment
    assert len(gateway.requests) == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(
    service: PaymentService, gateway: FakeGateway, ids: FakeIdentifiers
) -> None:
    service.initiate(ALICE, ORDER, idempotency_key="key-1")
    with pytest.raises(IdempotencyConflict):
        service.initiate(ALICE, TopUpOrder("26", "USD", "stripe", "alice@example.test"), idempotency_key="key-1")
    assert len(gateway.requests) == 1
    assert len(ids.issued) == 1


def test_idempotency_keys_belong_to_one_user(service: PaymentService, gateway: FakeGateway) -> None:
    alices = service.initiate(ALICE, ORDER, idempotency_key="key-1")
    bobs = service.initiate(BOB, TopUpOrder("99", "EUR", "stripe"), idempotency_key="key-1")
    assert not bobs.replayed
    assert bobs.payment.payment_id != alices.payment.payment_id
    assert len(gateway.requests) == 2


def test_without_an_idempotency_key_every_request_is_a_new_payment(
    service: PaymentService, gateway: FakeGateway
) -> None:
    first = service.initiate(ALICE, ORDER).payment
    second = service.initiate(ALICE, ORDER).payment
    assert first.payment_id != second.payment_id
    assert first.reference != second.reference
    assert len(gateway.requests) == 2


def test_an_amount_below_the_gateway_minimum_is_invalid_and_names_the_minimum(
    service: PaymentService, gateway: FakeGateway, ledger: Ledger
) -> None:
    with pytest.raises(Invalid, match=r"minimum for stripe is 0\.50 USD"):
        service.initiate(ALICE, TopUpOrder("0.49", "USD", "stripe"))
    assert gateway.requests == []
    assert event_names(ledger) == []


def test_an_unsupported_currency_is_invalid_and_names_the_accepted_ones(service: PaymentService) -> None:
    with pytest.raises(Invalid, match="accepted: USD, EUR, TZS"):
        service.initiate(ALICE, TopUpOrder("10", "GBP", "stripe"))


def test_an_unsupported_gateway_is_invalid_and_names_the_offered_ones(service: PaymentService) -> None:
    with pytest.raises(Invalid, match=r"'paypal' is not offered \(offered: stripe\)"):
        service.initiate(ALICE, TopUpOrder("10", "USD", "paypal"))


def test_a_user_sees_only_their_own_payments(service: PaymentService) -> None:
    view = service.initiate(ALICE, ORDER).payment
    assert service.payment_of(ALICE, view.payment_id) == view
    with pytest.raises(NotFound):
        service.payment_of(BOB, view.payment_id)
    with pytest.raises(NotFound):
        service.payment_of(ALICE, UUID(int=999))


def test_payments_are_listed_newest_first(ledger: Ledger, service: PaymentService) -> None:
    first = service.initiate(ALICE, ORDER).payment
    second = service.initiate(ALICE, TopUpOrder("30", "EUR", "stripe")).payment
    service.initiate(BOB, ORDER)
    assert [view.payment_id for view in payments_of(ledger, ALICE)] == [second.payment_id, first.payment_id]


def test_webhooks_of_a_gateway_that_is_not_configured_are_rejected(service: PaymentService) -> None:
    with pytest.raises(WebhookRejected, match="not configured"):
        service.receive_webhook("clickpesa", b"{}", {})
