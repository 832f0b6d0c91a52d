"""Small aggregates whose only job is to make a key unique across the store."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

_REFERENCES = uuid5(NAMESPACE_URL, "mcpay:payment-reference")
_IDEMPOTENCY = uuid5(NAMESPACE_URL, "mcpay:idempotency-key")
_GATEWAY_OBJECTS = uuid5(NAMESPACE_URL, "mcpay:gateway-object")


class PaymentReference(Aggregate):
    """Claims a payment reference for exactly one payment."""

    @staticmethod
    def create_id(reference: str) -> UUID:
        return uuid5(_REFERENCES, reference)

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


class GatewayObject(Aggregate):
    """Links a gateway's own object (a charge, a payment intent) to the payment it paid."""

    @staticmethod
    def create_id(gateway: str, object_id: str) -> UUID:
        return uuid5(_GATEWAY_OBJECTS, f"{gateway}\n{object_id}")

    @event("GatewayObjectLinked")
    def __init__(self, gateway: str, object_id: str, payment_id: UUID) -> None:
        self.gateway = gateway
        self.object_id = object_id
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
