"""Reconciliation asks about refunds and disputes of credited payments: a bounded number a run, round the window,
at a pace the gateway allows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from application.gateways import GatewayEvent, Outcome
from application.ledger import Ledger
from application.payments import PaymentService, TopUpOrder
from application.reconciliation import Reconciler, ReversalChecks
from application.views import PaymentView
from domain.money import Money
from tests.following import FollowingPaymentQueries, wallet_of
from tests.unit.fakes import FakeClock, FakeGateway, FakeIdentifiers

pytestmark = pytest.mark.unit

ALICE = "a" * 64
PRICE = Money.of("25.00", "USD")


@dataclass
class FakeReversals:
    """Answers the refunds it was told about, per payment intent; records whom it was asked about."""

    refunded: dict[str, Money] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def fetch_reversals(self, payment: PaymentView) -> list[GatewayEvent]:
        intent = payment.paid_object or ""
        self.asked.append(intent)
        if intent not in self.refunded:
            return []
        refunded = self.refunded[intent]
        key = f"stripe:ch_{intent}:refunded:{refunded.amount}"
        return [GatewayEvent("stripe", Outcome.REFUNDED, None, key, PRICE, gateway_object=intent, refunded=refunded)]


def credited_payments(ledger: Ledger, count: int) -> PaymentService:
    service = PaymentService(ledger, {"stripe": FakeGateway()}, {"USD": Decimal(1)}, FakeIdentifiers())
    for n in range(count):
        payment = service.initiate(ALICE, TopUpOrder("25.00", "USD", "stripe")).payment
        paid = GatewayEvent("stripe", Outcome.PAID, payment.reference, f"k{n}", PRICE, gateway_object=f"pi_{n}")
        assert service.apply(paid) == "confirmed"
    return service


def reconciler(ledger: Ledger, service: PaymentService, source: FakeReversals, sleeps: list[float]) -> Reconciler:
    checks = ReversalChecks(window=timedelta(days=120), per_run=2, calls_per_second=20)
    clock = FakeClock(datetime.now(UTC))
    queries = FollowingPaymentQueries(ledger)
    return Reconciler(
        service,
        {},
        queries,
        clock,
        timedelta(0),
        reversal_sources={"stripe": source},
        reversals=checks,
        sleep=sleeps.append,
    )


def test_each_run_asks_about_a_few_payments_at_the_gateways_pace_and_comes_round_to_all(ledger: Ledger) -> None:
    service = credited_payments(ledger, 3)
    source, sleeps = FakeReversals(refunded={"pi_2": PRICE}), list[float]()
    runs = reconciler(ledger, service, source, sleeps)
    assert runs.run_once().outcomes == {}
    assert runs.run_once().outcomes == {"refunded": 1}
    assert source.asked == ["pi_0", "pi_1", "pi_2", "pi_0"]
    assert sleeps == [0.05] * 4  # 20 calls a second
    assert wallet_of(ledger, ALICE).balance == Decimal("50.00")
    assert runs.run_once().outcomes == {}  # pi_1, pi_2 again: the refund is a duplicate now
