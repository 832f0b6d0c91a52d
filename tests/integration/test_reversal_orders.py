"""A payment's Stripe events in every order, and all at once: one end state and one balance (DESIGN.md, decision 11).

The events of one payment: its completion (and that completion redelivered, and told again by another event type),
two cumulative partial refunds, a dispute and its win. Whatever subset arrives, in whatever order, sequentially or
concurrently, the payment and the wallet end as the facts alone say: no reversal is lost or applied twice.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.identity import Ed25519Signatures
from application.audit.verify import verify_export
from application.payments import TopUpOrder
from application.replay import check_balances
from entrypoints.bootstrap import Services, bootstrap, webhook_secret
from entrypoints.settings import Settings
from tests.integration.read_side_support import caught_up
from tests.integration.stripe_support import stripe_event, stripe_signature
from tests.integration.support import SESSION_SECRET

pytestmark = pytest.mark.integration

USER = "c" * 64
UNITS = 2500  # 25.00 USD: 25.00 MC


@dataclass(frozen=True)
class Fact:
    name: str
    kind: str  # the Stripe event type
    refunded: int = 0  # for refunds: cumulative minor units
    won: bool = False


FACTS = (
    Fact("completed", "checkout.session.completed"),
    Fact("completed again", "checkout.session.completed"),
    Fact("async succeeded", "checkout.session.async_payment_succeeded"),
    Fact("refund 5", "charge.refunded", refunded=500),
    Fact("refund 10", "charge.refunded", refunded=1000),
    Fact("dispute", "charge.dispute.created"),
    Fact("dispute won", "charge.dispute.closed", won=True),
)


def expected(facts: list[Fact]) -> tuple[str, Decimal]:
    """The payment's status and the wallet's balance that these facts make, in any order."""
    if not any(fact.kind.startswith("checkout.session") for fact in facts):
        return "pending", Decimal("0.00")
    refunded = max((fact.refunded for fact in facts), default=0)
    disputed = any(fact.kind == "charge.dispute.created" for fact in facts)
    open_dispute = disputed and not any(fact.won for fact in facts)
    if open_dispute:
        return "disputed", Decimal("0.00")
    return ("refunded" if refunded else "confirmed"), Decimal(UNITS - refunded) / 100


class OnePayment:
    """One payment at the service, and the signed body of each of its facts (the same bytes on every delivery)."""

    def __init__(self, services: Services, user: str = USER) -> None:
        self.services = services
        self.user = user
        self.view = services.payments.initiate(user, TopUpOrder("25.00", "USD", "stripe")).payment
        self.secret = webhook_secret(services.settings, "stripe")
        self.bodies = {
            fact.name: json.dumps(stripe_event(fact.kind, self._object(fact), f"evt_{fact.name}")).encode()
            for fact in FACTS
        }

    def deliver(self, fact: Fact) -> str:
        body = self.bodies[fact.name]
        return self.services.payments.receive_webhook(
            "stripe", body, {"Stripe-Signature": stripe_signature(body, self.secret)}
        )

    def state(self) -> tuple[str, Decimal]:
        status = self.services.payments.payment(self.view.payment_id).status
        return status, caught_up(self.services).wallet_of(self.user).balance

    def check_the_ledger(self) -> None:
        assert all(check.agrees for check in check_balances(self.services.ledger))
        audit = self.services.audit
        assert audit.public_key is not None
        verification = verify_export(audit.export(), audit.public_key, Ed25519Signatures())
        assert verification.ok, verification

    def _object(self, fact: Fact) -> dict[str, Any]:
        ref = self.view.reference
        intent, charge, dispute = f"pi_test_{ref}", f"ch_test_{ref}", f"dp_test_{ref}"
        if fact.kind.startswith("checkout.session"):
            return {
                "id": self.view.checkout_id,
                "object": "checkout.session",
                "amount_total": UNITS,
                "currency": "usd",
                "client_reference_id": self.view.reference,
                "metadata": {"payment_id": str(self.view.payment_id)},
                "payment_intent": intent,
                "payment_status": "paid",
                "status": "complete",
            }
        if fact.kind == "charge.refunded":
            return {
                "id": charge,
                "object": "charge",
                "amount": UNITS,
                "amount_refunded": fact.refunded,
                "currency": "usd",
                "payment_intent": intent,
            }
        status = "won" if fact.won else "needs_response"
        return {
            "id": dispute,
            "object": "dispute",
            "amount": UNITS,
            "currency": "usd",
            "charge": charge,
            "payment_intent": intent,
            "status": status,
        }


@contextmanager
def services_on(database_url: str) -> Iterator[Services]:
    services = bootstrap(
        Settings(database_url=database_url, session_secret=SESSION_SECRET, ledger_signing_key="33" * 32)
    )
    try:
        yield services
    finally:
        services.close()


some_facts_in_some_order = st.lists(st.sampled_from(FACTS), min_size=1, max_size=len(FACTS), unique=True).flatmap(
    st.permutations
)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=some_facts_in_some_order)
def test_any_order_of_a_payments_events_ends_in_the_state_its_facts_say(facts: list[Fact]) -> None:
    with services_on("memory:") as services:
        payment = OnePayment(services)
        for fact in facts:
            payment.deliver(fact)
        again = random.Random(len(facts)).sample(facts, len(facts))
        assert [payment.deliver(fact) for fact in again] == ["duplicate"] * len(facts)  # nothing applies twice
        assert payment.state() == expected(facts), facts
        payment.check_the_ledger()


def test_every_order_of_the_full_story_ends_alike() -> None:
    """Every 7th of the 7! orders of the seven deliveries (on the in-memory store, through the real verifier)."""
    with services_on("memory:") as services:
        results = set()
        for n, order in enumerate(itertools.islice(itertools.permutations(FACTS), 0, None, 7)):  # 720 orders
            payment = OnePayment(services, user=f"{n:064x}")
            for fact in order:
                payment.deliver(fact)
            results.add(payment.state())
        assert results == {("refunded", Decimal("15.00"))}


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)])
def test_every_event_of_a_payment_delivered_at_once_ends_in_the_state_its_facts_say(
    store: str, request: pytest.FixtureRequest
) -> None:
    with services_on(request.getfixturevalue(store)) as services:
        payments = [OnePayment(services) for _ in range(6)]
        deliveries = [(payment, fact) for payment in payments for fact in FACTS for _ in range(2)]
        random.Random(11).shuffle(deliveries)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda delivery: delivery[0].deliver(delivery[1]), deliveries))
        assert "unmatched" not in answers
        for payment in payments:
            assert services.payments.payment(payment.view.payment_id).status == "refunded"
        assert caught_up(services).wallet_of(USER).balance == Decimal("15.00") * len(payments)
        payments[0].check_the_ledger()
