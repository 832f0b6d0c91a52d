"""The event-sourced write model: payments, wallets and their uniqueness records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, OperationalError, Recording
from eventsourcing.utils import EnvType

from application.errors import NotFound, StoreUnavailable
from application.write_mark import WriteMark
from domain.checkpoint import LedgerCheckpoint
from domain.indexes import GatewayObject, IdempotencyRecord, PaymentReference
from domain.payment import Payment
from domain.wallet import Wallet

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)

SAVE_ATTEMPTS = 8


class Ledger(Application[UUID]):
    """Saves several aggregates atomically; every save is all-or-nothing."""

    name = "Ledger"

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        self.written = WriteMark()

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        if recordings:
            self.written.raise_to(recordings[-1].notification.id)

    def payment(self, payment_id: UUID) -> Payment:
        found = self.find(Payment, payment_id)
        if found is None:
            raise NotFound(f"no payment {payment_id}")
        return found

    def payment_by_reference(self, reference: str) -> Payment | None:
        claim = self.find(PaymentReference, PaymentReference.create_id(reference))
        return None if claim is None else self.payment(claim.payment_id)

    def payment_by_gateway_object(self, gateway: str, object_id: str) -> Payment | None:
        link = self.gateway_object(gateway, object_id)
        return None if link is None or link.payment_id is None else self.payment(link.payment_id)

    def gateway_object(self, gateway: str, object_id: str) -> GatewayObject | None:
        return self.find(GatewayObject, GatewayObject.create_id(gateway, object_id))

    def wallet_of(self, user_id: str) -> Wallet | None:
        return self.find(Wallet, Wallet.create_id(user_id))

    def checkpoints(self) -> LedgerCheckpoint | None:
        return self.find(LedgerCheckpoint, LedgerCheckpoint.create_id())

    def idempotency_record(self, user_id: str, key: str) -> IdempotencyRecord | None:
        return self.find(IdempotencyRecord, IdempotencyRecord.create_id(user_id, key))

    def commit(self, *aggregates: Aggregate | None) -> None:
        try:
            self.save(*aggregates)
        except OperationalError as error:
            raise StoreUnavailable("the event store is unavailable") from error

    def find(self, kind: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate of that kind with that id (None: none, or one of another kind)."""
        try:
            aggregate: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        except OperationalError as error:
            raise StoreUnavailable("the event store is unavailable") from error
        if not isinstance(aggregate, kind):
            return None
        return aggregate


def retry_on_conflict(attempt: Callable[[], T]) -> T:
    """Run a load-decide-save attempt again when a concurrent writer got there first."""
    for _ in range(SAVE_ATTEMPTS - 1):
        try:
            return attempt()
        except IntegrityError:
            continue
    return attempt()
