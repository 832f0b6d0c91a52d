"""The payment service reverses credits for refunds and disputes, found through the linked gateway object."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.gateways import GatewayEvent, Outcome
from application.ledger import Ledger
from application.payments import PaymentService, TopUpOrder
from application.replay import check_balances, ledger_events
from domain.money import Money
from tests.following import wallet_of
from tests.unit.fakes import FakeGateway, FakeIdentifiers

pytestmark = pytest.mark.unit

ALICE = "a" * 64
USD = {"USD": Decimal(1), "EUR": Decimal("1.08"), "TZS": Decimal("0.00037")}


@pytest.fixture
def service(ledger: Ledger) -> PaymentService:
    return PaymentService(ledger, {"stripe": FakeGateway()}, USD, FakeIdentifiers())


def confirmed(service: PaymentService, amount: str = "25.00", intent: str = "pi_1") -> str:
    view = service.initiate(ALICE, TopUpOrder(amount, "USD", "stripe")).payment
    paid = GatewayEvent(
        "stripe", Outcome.PAID, view.reference, f"stripe:cs_{intent}:paid", view_price(amount), {}, intent
    )
    assert service.apply(paid) == "confirmed"
    return view.reference


def view_price(amount: str) -> Money:
    return Money.of(amount, "USD")


def refund(amount: str, charged: str = "25.00", intent: str = "pi_1") -> GatewayEvent:
    return GatewayEvent(
        "stripe",
        Outcome.REFUNDED,
        None,
        f"stripe:ch_{intent}:refunded:{amount}",
        view_price(charged),
        {"gateway_event_id": f"evt_{amount}"},
        gateway_object=intent,
        refunded=view_price(amount),
    )


def test_a_confirmation_links_the_payment_intent_in_the_same_save(service: PaymentService, ledger: Ledger) -> None:
    confirmed(service)
    names = [type(event).__name__ for _, event in ledger_events(ledger)]
    assert names[-4:] == ["PaymentConfirmed", "WalletOpened", "CreditsToppedUp", "GatewayObjectLinked"]
    assert ledger.payment_by_gateway_object("stripe", "pi_1") is not None


def test_a_refund_reverses_its_share_with_the_payment_event(service: PaymentService, ledger: Ledger) -> None:
    confirmed(service)
    assert service.apply(refund("10.00")) == "refunded"
    assert wallet_of(ledger, ALICE).balance == Decimal("15.00")
    names = [type(event).__name__ for _, event in ledger_events(ledger)]
    assert names[-2:] == ["PaymentRefunded", "CreditsReversed"]
    assert service.apply(refund("10.00")) == "duplicate"
    assert service.apply(refund("25.00")) == "refunded"
    assert wallet_of(ledger, ALICE).balance == Decimal("0.00")
    assert all(check.agrees for check in check_balances(ledger))


def test_a_dispute_reverses_the_rest(ledger: Ledger, service: PaymentService) -> None:
    confirmed(service)
    service.apply(refund("5.00"))
    dispute = GatewayEvent("stripe", Outcome.DISPUTED, None, "stripe:dp_1:disputed", None, {}, gateway_object="pi_1")
    assert service.apply(dispute) == "disputed"
    wallet = wallet_of(ledger, ALICE)
    assert wallet.balance == Decimal("0.00")
    assert [(entry.kind, entry.amount) for entry in wallet.entries] == [
        ("reversal", Decimal("20.00")),
        ("reversal", Decimal("5.00")),
        ("top_up", Decimal("25.00")),
    ]


def test_a_refund_of_an_unlinked_payment_intent_is_held_until_its_payment(
    ledger: Ledger, service: PaymentService
) -> None:
    confirmed(service)
    assert service.apply(refund("25.00", intent="pi_other")) == "held"
    assert service.apply(refund("25.00", intent="pi_other")) == "duplicate"
    assert wallet_of(ledger, ALICE).balance == Decimal("25.00")


def test_an_event_naming_neither_reference_nor_object_is_ignored(service: PaymentService) -> None:
    assert service.apply(GatewayEvent("stripe", Outcome.REFUNDED, None, "k", None, {})) == "ignored"
