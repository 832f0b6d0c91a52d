"""Small aggregates whose only job is to make a key unique across the store."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import TransitionNotAllowed
from domain.names import named_id
from domain.spend import spend_id_of

_REFERENCES = uuid5(NAMESPACE_URL, "mcpay:payment-reference")
_IDEMPOTENCY = uuid5(NAMESPACE_URL, "mcpay:idempotency-key")
_GATEWAY_OBJECTS = uuid5(NAMESPACE_URL, "mcpay:gateway-object")


class PaymentReference(Aggregate):
    """Claims a payment reference for exactly one payment."""

    @staticmethod
    def create_id(reference: str) -> UUID:
        return named_id(_REFERENCES, reference)

    @event("PaymentReferenceClaimed")
    def __init__(self, reference: str, payment_id: UUID) -> None:
        self.reference = reference
        self.payment_id = payment_id


class IdempotencyRecord(Aggregate):
    """Remembers which payment a user's Idempotency-Key created, and for what request."""

    @staticmethod
    def create_id(user_id: str, key: str) -> UUID:
        return uuid5(_IDEMPOTENCY, f"{user_id}\n{key}")

    @event("IdempotencyKeyUsed")
    def __init__(self, user_id: str, key: str, fingerprint: str, payment_id: UUID) -> None:
        self.user_id = user_id
        self.key = key
        self.fingerprint = fingerprint
        self.payment_id = payment_id


class SpendRecord(Aggregate):
    """Claims a user's order id with a payee for exactly one spend (its id is the spend's id), and remembers
    what was signed, to tell the same spend sent again from another spend reusing the order id."""

    @staticmethod
    def create_id(user_id: str, payee: str, order_id: str) -> UUID:
        return spend_id_of(user_id, payee, order_id)

    @event("SpendRecorded")
    def __init__(self, user_id: str, payee: str, order_id: str, fingerprint: str) -> None:
        self.user_id = user_id
        self.payee = payee
        self.order_id = order_id
        self.fingerprint = fingerprint


class GatewayObject(Aggregate):
    """Links a gateway's own object (a charge, a payment intent) to the payment it paid.

    News about the object that arrives before its payment is known (a refund delivered before the payment's
    confirmation) is held here; the confirmation that links the object takes it over. Both write this one
    stream, so a confirmation and a refund racing in two processes conflict and one of them sees the other.
    """

    @staticmethod
    def create_id(gateway: str, object_id: str) -> UUID:
        return named_id(_GATEWAY_OBJECTS, f"{gateway}\n{object_id}")

    @event("GatewayObjectLinked")
    def __init__(self, gateway: str, object_id: str, payment_id: UUID | None = None) -> None:
        self.gateway = gateway
        self.object_id = object_id
        self.payment_id = payment_id
        self.held: list[dict[str, Any]] = []
        self.held_keys: set[str] = set()

    class GatewayObjectSeen(Aggregate.Created):
        """News about the object came before the payment it paid was known."""

        gateway: str
        object_id: str

    @classmethod
    def seen(cls, gateway: str, object_id: str) -> GatewayObject:
        return cls._create(
            cls.GatewayObjectSeen, id=cls.create_id(gateway, object_id), gateway=gateway, object_id=object_id
        )

    @property
    def is_linked(self) -> bool:
        return self.payment_id is not None

    def hold(self, key: str, statement: dict[str, Any]) -> None:
        """Keep a gateway statement about this object until its payment is known."""
        if self.is_linked:
            raise TransitionNotAllowed(f"{self.object_id} is linked to payment {self.payment_id}: apply it there")
        self._hold(key, statement)

    @event("GatewayEventHeldForPayment")
    def _hold(self, key: str, statement: dict[str, Any]) -> None:
        self.held.append(statement)
        self.held_keys.add(key)

    def link(self, payment_id: UUID) -> list[dict[str, Any]]:
        """The payment is known now: answers the statements held for it, to be applied to it in the same save."""
        if self.is_linked:
            raise TransitionNotAllowed(f"{self.object_id} is already linked to payment {self.payment_id}")
        self._link(payment_id)
        return list(self.held)

    @event("GatewayObjectLinkedToPayment")
    def _link(self, payment_id: UUID) -> None:
        self.payment_id = payment_id


class UnmatchedGatewayEvent(Aggregate):
    """A verified gateway event naming no payment we know: kept for an operator to look at."""

    @staticmethod
    def create_id(gateway: str, key: str) -> UUID:
        return uuid5(_GATEWAY_OBJECTS, f"unmatched\n{gateway}\n{key}")

    @event("UnmatchedGatewayEventRecorded")
    def __init__(self, gateway: str, key: str, reference: str, evidence: dict[str, str]) -> None:
        self.gateway = gateway
        self.key = key
        self.reference = reference
        self.evidence = evidence
