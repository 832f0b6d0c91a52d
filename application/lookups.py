"""Finding the write model's aggregates by what names them, over any `find` (the store's, or a unit of work's)."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.errors import NotFound
from domain.indexes import GatewayObject, PaymentReference, UnmatchedGatewayEvent
from domain.payment import Payment
from domain.wallet import Wallet

A = TypeVar("A", bound=Aggregate)


class Lookups:
    """Payments by id, reference or gateway object; wallets by user; the uniqueness records."""

    def find(self, kind: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate of that kind with that id (None: none, or one of another kind)."""
        raise NotImplementedError

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

    def unmatched(self, gateway: str, key: str) -> UnmatchedGatewayEvent | None:
        return self.find(UnmatchedGatewayEvent, UnmatchedGatewayEvent.create_id(gateway, key))
