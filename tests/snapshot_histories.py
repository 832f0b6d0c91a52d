"""Randomised histories of wallets and payments, played through the use cases on a ledger that snapshots often,
and the check that every aggregate loaded through its snapshots is the aggregate replayed from its first event."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from typing import Any, ClassVar
from uuid import UUID, uuid4

from eventsourcing.domain import MutableOrImmutableAggregate
from hypothesis import strategies as st

from application.admin import AdminService, Receipt
from application.errors import ApplicationError
from application.gateways import GatewayEvent, Outcome
from application.ledger import Ledger
from application.payments import PaymentService, TopUpOrder
from domain.errors import DomainError
from domain.money import Money
from domain.payment import Payment
from domain.wallet import Wallet
from tests.unit.fakes import FakeGateway

WALLET_EVERY = 3
PAYMENT_EVERY = 2
ADMINS = ("ad" * 32, "ae" * 32)
PRICE = Money.of("25.00", "USD")


class OftenSnapshotted(Ledger):
    """The production ledger with snapshots every few events, so that short histories cross several."""

    name = "Ledger"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Wallet: WALLET_EVERY, Payment: PAYMENT_EVERY}


class UniqueIdentifiers:
    """Fresh ids in every example, so that examples sharing one store never meet."""

    def payment_id(self) -> UUID:
        return uuid4()

    def reference(self) -> str:
        return f"MC{uuid4().hex[:12].upper()}"


@dataclass(frozen=True)
class Step:
    kind: str  # paid, paid_other_amount, failed, expired, refund, dispute, win, redeliver, bank, acknowledge
    payment: int  # which of the card payments (the bank transfer for "bank")
    number: int  # refund: the cents refunded so far; dispute and win: which dispute; bank: the admin


CARD_PAYMENTS = 3  # two of the first user's, one of the second's
KINDS = ("paid", "paid", "paid_other_amount", "failed", "expired", "refund", "dispute", "win", "redeliver")
STEPS = st.builds(
    Step,
    st.sampled_from((*KINDS, "bank", "acknowledge")),
    st.integers(min_value=0, max_value=CARD_PAYMENTS - 1),
    st.integers(min_value=1, max_value=2500),
)
HISTORIES = st.lists(STEPS, min_size=1, max_size=25)


class History:
    """Two users' payments moved by gateway events and admins, one save per step, as the service does it."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.users = (uuid4().hex * 2, uuid4().hex * 2)
        self.payments = PaymentService(ledger, {"stripe": FakeGateway()}, {"USD": Decimal(1)}, UniqueIdentifiers())
        self.admin = AdminService(ledger, confirmations_required=2)
        owners = (self.users[0], self.users[0], self.users[1])
        self.cards = [self.payments.initiate(owner, TopUpOrder("25.00", "USD", "stripe")).payment for owner in owners]
        bank = Payment.initiate(uuid4(), self.users[0], "bank", UniqueIdentifiers().reference(), PRICE, Decimal(1))
        ledger.commit(bank)
        self.bank = bank.id
        self.sent: list[GatewayEvent] = []

    def play(self, steps: Iterable[Step]) -> None:
        for step in steps:
            with contextlib.suppress(ApplicationError, DomainError):  # refused as the service refuses it
                self._step(step)

    def aggregate_ids(self) -> list[UUID]:
        payments = [view.payment_id for view in self.cards] + [self.bank]
        return payments + [Wallet.create_id(user) for user in self.users]

    def _step(self, step: Step) -> None:
        if step.kind == "bank":
            self.admin.confirm(ADMINS[step.number % 2], self.bank, Receipt(_bank_amount(step.number), "USD"))
        elif step.kind == "acknowledge":
            self.admin.acknowledge(ADMINS[0], self._payment_id(step), "seen at the gateway")
        elif step.kind == "redeliver":
            if self.sent:
                self.payments.apply(self.sent[step.number % len(self.sent)])
        else:
            event = self._event(step, key=f"{step.kind}:{len(self.sent)}")
            self.sent.append(event)
            self.payments.apply(event)

    def _payment_id(self, step: Step) -> UUID:
        return self.bank if step.number % 4 == 0 else self.cards[step.payment].payment_id

    def _event(self, step: Step, key: str) -> GatewayEvent:
        card = self.cards[step.payment]
        intent = f"pi_{card.payment_id.hex}"
        if step.kind in ("paid", "paid_other_amount"):
            paid = PRICE if step.kind == "paid" else Money.of("24.00", "USD")
            return GatewayEvent("stripe", Outcome.PAID, card.reference, key, paid, {"n": key}, intent)
        if step.kind in ("failed", "expired"):
            return GatewayEvent("stripe", Outcome(step.kind), card.reference, key, None, {"n": key})
        if step.kind == "refund":
            refunded = Money.from_minor(step.number, "USD")
            return GatewayEvent("stripe", Outcome.REFUNDED, None, key, PRICE, {}, intent, refunded=refunded)
        outcome = Outcome.DISPUTED if step.kind == "dispute" else Outcome.DISPUTE_WON
        return GatewayEvent("stripe", outcome, None, key, None, {}, intent, dispute=f"dp_{step.number % 2}")


def _bank_amount(number: int) -> str:
    return "25.00" if number % 3 else "20.00"  # an amount other than the price sends it to review


def replayed(ledger: Ledger, aggregate_id: UUID, version: int | None = None) -> MutableOrImmutableAggregate[UUID]:
    """The aggregate rebuilt from its first event, without a snapshot."""
    events: Iterable[Any] = ledger.events.get(aggregate_id, lte=version)
    aggregate: MutableOrImmutableAggregate[UUID] | None = reduce(lambda state, e: e.mutate(state), events, None)
    if aggregate is None:
        raise LookupError(f"no events for {aggregate_id}")
    return aggregate


def state(aggregate: object) -> dict[str, tuple[type, Any]]:
    """Every attribute with its type: a status read back as text is not the status it was."""
    return {name: (type(value), value) for name, value in vars(aggregate).items()}


def check_loads_through_snapshots(ledger: Ledger, aggregate_ids: Iterable[UUID]) -> int:
    """Every version of every aggregate, loaded through its latest snapshot at or before that version, is the
    aggregate replayed from its first event; each multiple of the interval has its snapshot. Answers how many
    loads began from a snapshot."""
    assert ledger.snapshots is not None
    from_snapshots = 0
    for aggregate_id in aggregate_ids:
        head = next(iter(ledger.events.get(aggregate_id, desc=True, limit=1)), None)
        if head is None:
            continue
        interval = ledger.snapshotting_intervals[type(replayed(ledger, aggregate_id))]
        taken = [snapshot.originator_version for snapshot in ledger.snapshots.get(aggregate_id)]
        assert taken == list(range(interval, head.originator_version + 1, interval)), (aggregate_id, taken)
        for version in range(1, head.originator_version + 1):
            loaded: object = ledger.repository.get(aggregate_id, version=version)
            assert state(loaded) == state(replayed(ledger, aggregate_id, version)), (aggregate_id, version)
            from_snapshots += version >= interval
        assert state(ledger.repository.get(aggregate_id)) == state(replayed(ledger, aggregate_id))
    return from_snapshots
