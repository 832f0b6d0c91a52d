"""AdminService on an in-memory ledger: the desk's order, credits, conflicts, and bank expiry."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from adapters.bank import BankAccount, BankGateway
from application.admin import AdminService, Receipt
from application.errors import Conflict, NotFound
from application.gateways import GatewayOffer, Outcome
from application.ledger import Ledger
from application.views import PaymentView
from domain.money import Money
from domain.payment import Payment
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.unit

ADMIN_A = "a" * 64
ADMIN_B = "b" * 64
USER = "c" * 64


def record(ledger: Ledger, number: int, gateway: str = "bank", amount: str = "1000") -> UUID:
    payment = Payment.initiate(
        UUID(int=number), USER, gateway, f"MCREF{number:04d}", Money.of(amount, "USD"), Decimal(1)
    )
    ledger.commit(payment)
    return payment.id


def desk(ledger: Ledger, required: int = 1) -> AdminService:
    return AdminService(ledger, required)


def test_confirmation_credits_the_owner_in_the_same_save(ledger: Ledger) -> None:
    payment_id = record(ledger, 1)
    view = desk(ledger).confirm(ADMIN_A, payment_id, Receipt("1000", "USD"))
    assert view.status == "confirmed"
    wallet = ledger.wallet_of(USER)
    assert wallet is not None
    assert wallet.balance == Decimal("1000.00")


def test_two_required_credits_only_after_a_second_admin(ledger: Ledger) -> None:
    payment_id = record(ledger, 1)
    service = desk(ledger, required=2)
    first = service.confirm(ADMIN_A, payment_id, Receipt("1000.00", "USD", note="seen"))
    assert first.status == "pending"
    assert [approval.admin for approval in first.approvals] == [ADMIN_A]
    assert ledger.wallet_of(USER) is None
    assert service.confirm(ADMIN_B, payment_id, Receipt(1000, "USD")).status == "confirmed"
    wallet = ledger.wallet_of(USER)
    assert wallet is not None
    assert wallet.balance == Decimal("1000.00")


def test_confirming_a_settled_payment_is_a_conflict(ledger: Ledger) -> None:
    payment_id = record(ledger, 1)
    service = desk(ledger)
    service.reject(ADMIN_A, payment_id, "never arrived")
    with pytest.raises(Conflict, match="cannot confirm this payment: it is rejected"):
        service.confirm(ADMIN_B, payment_id, Receipt("1000", "USD"))
    with pytest.raises(Conflict, match="cannot reject this payment: it is rejected"):
        service.reject(ADMIN_B, payment_id, "again")


def test_an_unknown_payment_is_not_found(ledger: Ledger) -> None:
    with pytest.raises(NotFound):
        desk(ledger).confirm(ADMIN_A, UUID(int=99), Receipt("1000", "USD"))


BANK_OFFER = GatewayOffer("bank", ("USD",), {"USD": Decimal(1000)}, demo=True)
ACCOUNT = BankAccount("Bank", "Mycelium Ltd", "0123", "BANKTZTZ")


def test_a_bank_transfer_expires_after_the_expiry_unless_an_admin_confirmed_it(ledger: Ledger) -> None:
    payment_id = record(ledger, 1)
    view = PaymentView.of(ledger.payment(payment_id))
    clock = FakeClock(view.created_at)
    gateway = BankGateway(BANK_OFFER, ACCOUNT, "http://mcpay.test", clock, timedelta(days=14))

    clock.advance(timedelta(days=14) - timedelta(seconds=1))
    assert gateway.fetch_status(view) is None
    clock.advance(timedelta(seconds=1))
    event = gateway.fetch_status(view)
    assert event is not None
    assert (event.outcome, event.reference, event.key) == (Outcome.EXPIRED, "MCREF0001", "bank:MCREF0001:expired")

    confirmed_once = desk(ledger, required=2).confirm(ADMIN_A, payment_id, Receipt("1000", "USD"))
    assert gateway.fetch_status(confirmed_once) is None
