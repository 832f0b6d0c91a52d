"""Properties of settlement under any script of duplicate, reordered, late and conflicting Stripe deliveries.

Each example bootstraps the service (demo mode: the real Stripe webhook verifier), initiates three
payments and sends a script of signed deliveries through `PaymentService.receive_webhook`. After every
delivery: the answer is the model's, and each payment moved only along DESIGN.md's lifecycle. At the
end: statuses and balances are the model's, each payment was credited at most once (and exactly when
confirmed), reversals never exceed the credit, replay agrees, and the signed export verifies offline.
"""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings

from adapters.identity import Ed25519Signatures
from application.audit.verify import verify_export
from application.replay import check_balances, ledger_events
from application.views import PaymentView
from entrypoints.bootstrap import Services, bootstrap, webhook_secret
from entrypoints.settings import Settings
from tests.integration.gateway_script import (
    ALICE,
    ALLOWED_MOVES,
    BOB,
    CREDITED,
    ORDERS,
    Delivery,
    Kind,
    LedgerModel,
    Redelivery,
    Step,
    scripts,
    stripe_body,
)
from tests.integration.read_side_support import caught_up
from tests.integration.stripe_support import stripe_signature
from tests.integration.support import SESSION_SECRET

pytestmark = pytest.mark.integration

MAX_STEPS = 30


@contextmanager
def services_on(database_url: str) -> Iterator[Services]:
    services = bootstrap(Settings(database_url=database_url, session_secret=SESSION_SECRET))
    try:
        yield services
    finally:
        services.close()


@contextmanager
def fresh_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="mcpay-properties-") as directory:
        yield f"sqlite:///{Path(directory) / 'mcpay.sqlite3'}"


class Run:
    """One example: the payments, the bodies sent so far, and the model beside the service."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.secret = webhook_secret(services.settings, "stripe")
        self.payments: list[PaymentView] = [
            services.payments.initiate(order.user_id, order.top_up).payment for order in ORDERS
        ]
        self.sent: list[tuple[Delivery, bytes]] = []
        self.model = LedgerModel()
        services.read_side.projector.run_once()  # projecting along: each commit hands its payments over

    def step(self, step: Step) -> None:
        if isinstance(step, Redelivery) and not self.sent:
            return
        delivery, body = self._body(step)
        before = [self.status(i) for i in range(len(ORDERS))]
        expected = self.model.apply(delivery)

        result = self.services.payments.receive_webhook("stripe", body, {"Stripe-Signature": self._sign(body)})

        assert result == expected, (delivery, before)
        self.services.read_side.projector.run_once()
        for index, status in enumerate(self.status(i) for i in range(len(ORDERS))):
            assert status == self.model.payments[index].status, (delivery, index)
            assert status == before[index] or status in ALLOWED_MOVES[before[index]], (before[index], status)

    def status(self, index: int) -> str:
        return self.services.payments.payment(self.payments[index].payment_id).status

    def _body(self, step: Step) -> tuple[Delivery, bytes]:
        if isinstance(step, Redelivery):
            return self.sent[step.earlier % len(self.sent)]
        body = stripe_body(step, f"evt_test_{len(self.sent)}", self.payments[step.payment])
        self.sent.append((step, body))
        return step, body

    def _sign(self, body: bytes) -> str:
        return stripe_signature(body, self.secret)


def check_the_ledger(run: Run) -> None:
    services, model = run.services, run.model
    by_payment: dict[UUID, Counter[str]] = defaultdict(Counter)
    topped_up: dict[UUID, Decimal] = defaultdict(Decimal)
    reversed_: dict[UUID, Decimal] = defaultdict(Decimal)
    for _, event in ledger_events(services.ledger):
        kind = type(event).__name__
        if kind in ("CreditsToppedUp", "CreditsReversed", "CreditsReinstated"):
            by_payment[event.payment_id][kind] += 1
            sign = -1 if kind == "CreditsReinstated" else 1
            (topped_up if kind == "CreditsToppedUp" else reversed_)[event.payment_id] += sign * event.amount
        elif kind == "PaymentConfirmed":
            by_payment[event.originator_id][kind] += 1
    for index, view in enumerate(run.payments):
        counts, expected = by_payment[view.payment_id], model.payments[index]
        credited = expected.status in CREDITED
        assert counts["CreditsToppedUp"] == counts["PaymentConfirmed"] == (1 if credited else 0), counts
        assert topped_up[view.payment_id] == expected.credited
        assert reversed_[view.payment_id] == expected.reversed <= expected.credited
    for user in (ALICE, BOB):
        theirs = [view.payment_id for view in run.payments if view.user_id == user]
        from_events = sum((topped_up[p] - reversed_[p] for p in theirs), Decimal("0.00"))
        assert caught_up(services).wallet_of(user).balance == from_events == model.balance(user)
    assert all(check.agrees for check in check_balances(services.ledger))
    reads = caught_up(services)
    for view in run.payments:  # as projected, from handed-over views and folds: as a whole replay has it
        assert reads.payment(view.payment_id) == PaymentView.of(services.ledger.repository.get(view.payment_id))
    audit = services.audit
    assert audit.public_key is not None
    verification = verify_export(audit.export(), audit.public_key, Ed25519Signatures())
    assert verification.ok, verification


def play(database_url: str, script: list[Step]) -> None:
    with services_on(database_url) as services:
        run = Run(services)
        for step in script:
            run.step(step)
        check_the_ledger(run)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=scripts(MAX_STEPS))
def test_any_script_of_deliveries_credits_exactly_what_the_model_says_in_memory(script: list[Step]) -> None:
    play("memory:", script)


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=scripts(MAX_STEPS))
def test_any_script_of_deliveries_credits_exactly_what_the_model_says_on_sqlite(script: list[Step]) -> None:
    with fresh_sqlite() as url:
        play(url, script)


def test_the_model_knows_the_lifecycle_of_design_md() -> None:
    """The oracle itself, on a known story: duplicates, a late expiry, a refund, a late smaller refund, a dispute."""
    model = LedgerModel()
    steps = [
        (Delivery(0, Kind.PAID), "confirmed"),
        (Delivery(0, Kind.PAID, async_type=True), "duplicate"),
        (Delivery(0, Kind.EXPIRED), "ignored"),
        (Delivery(0, Kind.PAID, session=1), "held"),  # paid twice: an admin must see it
        (Delivery(0, Kind.REFUNDED, refund_step=2), "refunded"),  # 12.50 of 25.00
        (Delivery(0, Kind.REFUNDED, refund_step=0), "ignored"),  # a late, smaller one
        (Delivery(0, Kind.REFUNDED, session=1), "held"),  # a payment intent never linked
        (Delivery(0, Kind.DISPUTED), "disputed"),
        (Delivery(0, Kind.DISPUTED, dispute=1), "disputed"),  # takes nothing more
        (Delivery(0, Kind.DISPUTE_WON), "dispute_won"),  # one of two open disputes won: still disputed
        (Delivery(1, Kind.EXPIRED), "expired"),
        (Delivery(1, Kind.PAID), "needs_review"),  # ADR 13
        (Delivery(2, Kind.DISPUTED), "held"),  # before its confirmation ...
        (Delivery(2, Kind.DISPUTE_WON, async_type=True), "held"),
        (Delivery(2, Kind.PAID), "confirmed"),  # ... applied by it: disputed and won, nothing taken
    ]
    for delivery, answer in steps:
        assert model.apply(delivery) == answer, delivery
    assert [p.status for p in model.payments] == ["disputed", "needs_review", "confirmed"]
    assert (model.balance(ALICE), model.payments[0].reversed) == (Decimal("0.00"), Decimal("25.00"))
    assert model.balance(BOB) == Decimal("3.70")
