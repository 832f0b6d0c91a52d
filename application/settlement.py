"""The one place where a verified gateway event moves a payment."""

from __future__ import annotations

from application.gateways import GatewayEvent, Outcome
from domain.errors import DomainError
from domain.payment import Payment, PaymentStatus


def settle(payment: Payment, event: GatewayEvent) -> str:
    """Apply the event to the payment (not yet saved); answers what happened."""
    if payment.has_handled(event.key):
        return "duplicate"
    evidence = dict(event.evidence)
    if event.outcome is Outcome.PAID:
        return _paid(payment, event, evidence)
    if event.outcome in (Outcome.REFUNDED, Outcome.DISPUTED):
        return _taken_back(payment, event, evidence)
    if event.outcome is Outcome.FAILED and payment.is_pending:
        payment.fail(evidence.get("reason", "the gateway reported a failure"), event.key, evidence)
        return "failed"
    if event.outcome is Outcome.EXPIRED and payment.is_pending:
        payment.expire(event.key, evidence)
        return "expired"
    if event.outcome in (Outcome.FAILED, Outcome.EXPIRED):
        payment.ignore(f"{event.outcome} arrived after the payment was {payment.status}", event.key, evidence)
        return "ignored"
    return "pending"


def _taken_back(payment: Payment, event: GatewayEvent, evidence: dict[str, str]) -> str:
    """A refund or dispute: the payment's credits are reversed (the caller reverses them in the wallet)."""
    try:
        if event.outcome is Outcome.DISPUTED:
            payment.dispute(event.key, evidence)
            return "disputed"
        if event.refunded is None or event.paid is None:
            raise DomainError("the refund names no amounts")
        payment.refund(event.refunded, event.paid, event.key, evidence)
        return "refunded"
    except DomainError as error:
        payment.ignore(f"{event.outcome} not applied: {error}", event.key, evidence)
        return "ignored"


def _paid(payment: Payment, event: GatewayEvent, evidence: dict[str, str]) -> str:
    paid = event.paid
    if payment.status in (PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED):
        if payment.is_pending and paid is not None and paid == payment.price:
            payment.confirm(paid, event.key, evidence)
            return "confirmed"
        reason = (
            f"paid {paid if paid else 'an unknown amount'} but the payment asks for {payment.price}"
            if payment.is_pending
            else f"paid after the payment was {payment.status}"
        )
        payment.flag_for_review(reason, paid, event.key, evidence)
        return "needs_review"
    payment.ignore(f"payment already {payment.status}", event.key, evidence)
    return "ignored"
