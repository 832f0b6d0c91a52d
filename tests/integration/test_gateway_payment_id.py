"""The payment and wallet ids a gateway's paid event carries (Stripe: the checkout's metadata) only choose what is read
early: each event is decided on the payment its reference claims, and credits that payment owner's wallet. An id
that is not a UUID, or that names another user's payment, neither fails the group nor touches that payment; such an
event credits nothing (the paid checkout is not the payment's own: it goes to review), while the group's other
events credit exactly once. A wallet id that names another wallet, or nothing, credits the right one all the same."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from adapters.persistence import persistence_env
from application.aggregate_cache import AggregateCache
from application.gateway_events import GatewayEvents
from application.gateways import GatewayEvent, Outcome
from application.ledger import Ledger
from application.payments import PaymentService, TopUpOrder
from application.unit_of_work import UnitOfWork
from application.views import PaymentView
from domain.money import Money
from domain.payment import Payment, PaymentStatus
from domain.wallet import Wallet
from tests.snapshot_histories import UniqueIdentifiers
from tests.unit.fakes import FakeGateway

pytestmark = pytest.mark.integration

PRICE = "25.00"


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    built = Ledger(env=persistence_env(database_url))
    yield built
    built.close()


def begun(ledger: Ledger, user: str) -> PaymentView:
    service = PaymentService(ledger, {"stripe": FakeGateway()}, {"USD": Decimal(1)}, UniqueIdentifiers())
    return service.initiate(user, TopUpOrder(PRICE, "USD", "stripe")).payment


def paid(view: PaymentView, key: str, payment_id: str | None, wallet_id: str | None = None) -> GatewayEvent:
    """Paid in full, by the payment's reference, the gateway naming `payment_id` as the payment it is for (and
    `wallet_id` as the wallet it credits)."""
    price = Money.of(PRICE, "USD")
    return GatewayEvent(
        "stripe",
        Outcome.PAID,
        view.reference,
        key,
        price,
        {"n": key},
        f"pi_{key}",
        payment_id=payment_id,
        wallet_id=wallet_id,
    )


def together(ledger: Ledger, cache: AggregateCache, events: Sequence[GatewayEvent]) -> tuple[list[str], UnitOfWork]:
    """One group as the writer decides it: read ahead together, each event decided in turn, all saved at once."""
    decisions = GatewayEvents()
    work = UnitOfWork(ledger, cache)
    decisions.preload(work, events)
    outcomes = [decisions.decide(work, event) for event in events]
    work.save()
    return outcomes, work


def balance(ledger: Ledger, user: str) -> Decimal | None:
    wallet = ledger.wallet_of(user)
    return None if wallet is None else wallet.balance


def test_a_paid_event_naming_garbage_or_another_users_payment_decides_its_references_payment(
    ledger: Ledger,
) -> None:
    alice, bob = uuid4().hex * 2, uuid4().hex * 2
    garbled, misnamed, own = (begun(ledger, alice) for _ in range(3))
    bobs = begun(ledger, bob)
    bobs_version = ledger.payment(bobs.payment_id).version
    group = [
        paid(garbled, "evt_garbled", "not-a-uuid"),
        paid(misnamed, "evt_misnamed", str(bobs.payment_id)),
        paid(own, "evt_own", str(own.payment_id)),
    ]
    cache = AggregateCache()

    outcomes, work = together(ledger, cache, group)

    assert outcomes == ["needs_review", "needs_review", "confirmed"]
    assert [p.id for p in work.seen(Payment, [bobs.payment_id])] == [bobs.payment_id]  # read early, as named
    for view, named in ((garbled, "not-a-uuid"), (misnamed, str(bobs.payment_id))):
        payment = ledger.payment(view.payment_id)
        assert (payment.status, payment.credits_reversed) == (PaymentStatus.NEEDS_REVIEW, Decimal("0.00"))
        assert payment.status_reason is not None and named in payment.status_reason
    assert ledger.payment(own.payment_id).status is PaymentStatus.CONFIRMED
    untouched = ledger.payment(bobs.payment_id)
    assert (untouched.status, untouched.version, untouched.handled_keys) == (PaymentStatus.PENDING, bobs_version, set())
    assert (balance(ledger, alice), balance(ledger, bob)) == (Decimal(PRICE), None)  # the own payment's credits

    again, _ = together(ledger, cache, group)  # redelivered, through the same cache: nothing moves twice
    assert again == ["duplicate"] * 3
    assert (balance(ledger, alice), balance(ledger, bob)) == (Decimal(PRICE), None)
    assert ledger.payment(bobs.payment_id).version == bobs_version


@pytest.mark.parametrize("misnamed_first", [True, False], ids=["misnamed-first", "misnamed-last"])
def test_a_payment_another_event_of_its_group_names_is_credited_once_by_its_own_event(
    ledger: Ledger, misnamed_first: bool
) -> None:
    alice, bob = uuid4().hex * 2, uuid4().hex * 2
    misnamed, bobs = begun(ledger, alice), begun(ledger, bob)
    group = [paid(misnamed, "evt_misnamed", str(bobs.payment_id)), paid(bobs, "evt_bob", str(bobs.payment_id))]
    if not misnamed_first:
        group.reverse()

    outcomes, _ = together(ledger, AggregateCache(), group)

    expected = {"evt_misnamed": "needs_review", "evt_bob": "confirmed"}
    assert outcomes == [expected[event.key] for event in group]
    confirmed = ledger.payment(bobs.payment_id)
    assert (confirmed.status, confirmed.confirmed_by, confirmed.handled_keys) == (
        PaymentStatus.CONFIRMED,
        "evt_bob",
        {"evt_bob"},
    )
    assert ledger.payment(misnamed.payment_id).status is PaymentStatus.NEEDS_REVIEW
    assert (balance(ledger, alice), balance(ledger, bob)) == (None, Decimal(PRICE))
    wallet = ledger.wallet_of(bob)
    assert wallet is not None and wallet.version == 2  # opened, credited once


def test_when_the_gateway_names_each_events_payment_a_group_is_read_in_two_reads(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = uuid4().hex * 2
    views = [begun(ledger, user) for _ in range(4)]
    reads: list[Any] = []
    current = ledger.current

    def counted(ids: Sequence[UUID], kept: Any) -> Any:
        reads.append(list(ids))
        return current(ids, kept)

    monkeypatch.setattr(ledger, "current", counted)

    named = [paid(view, f"evt_{n}", str(view.payment_id)) for n, view in enumerate(views)]
    assert together(ledger, AggregateCache(), named)[0] == ["confirmed"] * 4
    assert len(reads) == 2  # claims with the named payments, then the wallet

    reads.clear()
    more = [begun(ledger, user) for _ in range(2)]
    unnamed = [paid(more[0], "evt_garbled", "not-a-uuid"), paid(more[1], "evt_none", None)]
    assert together(ledger, AggregateCache(), unnamed)[0] == ["needs_review", "confirmed"]
    assert len(reads) == 3  # claims, then the payments they name, then the wallet
    assert sorted(reads[1]) == sorted(view.payment_id for view in more)


def test_when_the_gateway_names_each_events_payment_and_wallet_a_group_is_read_in_one_read(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = uuid4().hex * 2, uuid4().hex * 2
    views = [begun(ledger, alice), begun(ledger, alice), begun(ledger, bob)]
    reads = counted_reads(ledger, monkeypatch)

    group = [
        paid(view, f"evt_{n}", str(view.payment_id), str(Wallet.create_id(view.user_id)))
        for n, view in enumerate(views)
    ]
    assert together(ledger, AggregateCache(), group)[0] == ["confirmed"] * 3
    assert len(reads) == 1  # claims, payments and wallets together
    assert (balance(ledger, alice), balance(ledger, bob)) == (Decimal("50.00"), Decimal(PRICE))


@pytest.mark.parametrize("named", ["another-users", "a-payments", "no-aggregates", "not-a-uuid"])
def test_a_paid_event_naming_the_wrong_wallet_credits_its_payment_owners_wallet_only(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, named: str
) -> None:
    alice, bob = uuid4().hex * 2, uuid4().hex * 2
    bobs_first = begun(ledger, bob)
    assert together(ledger, AggregateCache(), [paid(bobs_first, "evt_bob", None)])[0] == ["confirmed"]
    bobs_wallet = ledger.wallet_of(bob)
    assert bobs_wallet is not None
    alices = begun(ledger, alice)
    wrong = {
        "another-users": str(bobs_wallet.id),
        "a-payments": str(bobs_first.payment_id),
        "no-aggregates": str(uuid4()),
        "not-a-uuid": "wallet-of-alice",
    }[named]
    reads = counted_reads(ledger, monkeypatch)

    outcomes, _ = together(ledger, AggregateCache(), [paid(alices, "evt_alice", str(alices.payment_id), wrong)])

    assert outcomes == ["confirmed"]
    assert (balance(ledger, alice), balance(ledger, bob)) == (Decimal(PRICE), Decimal(PRICE))
    after = ledger.wallet_of(bob)
    assert after is not None and after.version == bobs_wallet.version  # read early at most, never saved
    assert len(reads) == 2  # the right wallet read after its payment


def counted_reads(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> list[list[UUID]]:
    """The ids of each batched read the ledger makes from now on."""
    reads: list[list[UUID]] = []
    current = ledger.current

    def counted(ids: Sequence[UUID], kept: Any) -> Any:
        reads.append(list(ids))
        return current(ids, kept)

    monkeypatch.setattr(ledger, "current", counted)
    return reads
