"""The one place where a verified gateway event moves a payment, and says what it moves in the wallet.

Refunds and disputes are facts about the charge: the payment keeps the largest refund and every dispute
opened and won, and what stands reversed follows from those facts alone. Whatever order the gateway
delivers them in, the same facts end in the same state and the same balance (ADR 31).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from application.gateways import GatewayEvent, Outcome
from domain.errors import DomainError
from domain.money import Money
from domain.payment import Payment, PaymentStatus
from domain.wallet import Move

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Settlement:
    """What an event did to its payment, and the credits it moves in the wallet (the payment's own events say
    so: `Payment.wallet_moves`); counted in metrics once saved."""

    outcome: str
    move: Move | None = None
    credits: Decimal = ZERO

    @property
    def moves_credits(self) -> bool:
        return self.move is not None and self.credits > 0


def settle(payment: Payment, event: GatewayEvent) -> Settlement:
    """Apply the event to the payment (not yet saved)."""
    if payment.has_handled(event.key):
        return Settlement("duplicate")
    evidence = dict(event.evidence)
    if event.outcome is Outcome.PAID:
        return _paid(payment, event, evidence)
    if event.takes_back:
        return _taken_back(payment, event, evidence)
    if event.outcome in (Outcome.FAILED, Outcome.EXPIRED) and (stranger := _not_the_payments_own(payment, event)):
        payment.ignore(f"{event.outcome} not applied: {stranger}", event.key, evidence)
        return Settlement("ignored")
    if event.outcome is Outcome.FAILED and payment.is_pending:
        payment.fail(evidence.get("reason", "the gateway reported a failure"), event.key, evidence)
        return Settlement("failed")
    if event.outcome is Outcome.EXPIRED and payment.is_pending:
        payment.expire(event.key, evidence)
        return Settlement("expired")
    if event.outcome in (Outcome.FAILED, Outcome.EXPIRED):
        payment.ignore(f"{event.outcome} arrived after the payment was {payment.status}", event.key, evidence)
        return Settlement("ignored")
    return Settlement("pending")


def _taken_back(payment: Payment, event: GatewayEvent, evidence: dict[str, str]) -> Settlement:
    """A refund, a dispute or a dispute's win: applied once the payment credited, held for an admin otherwise."""
    doubt = _doubt_about_reversal(payment, event)
    if doubt is not None:
        payment.hold(str(event.outcome), doubt, event.key, evidence)
        return Settlement("held")
    try:
        if event.outcome is Outcome.DISPUTED:
            return _reversed("disputed", payment.dispute(event.key, evidence, event.dispute or ""))
        if event.outcome is Outcome.DISPUTE_WON:
            given_back = payment.win_dispute(event.dispute or "", event.key, evidence)
            return Settlement("dispute_won", Move.REINSTATE, given_back.amount)
        if event.refunded is None or event.paid is None:
            raise DomainError("the refund names no amounts")
        return _reversed("refunded", payment.refund(event.refunded, event.paid, event.key, evidence))
    except DomainError as error:
        payment.ignore(f"{event.outcome} not applied: {error}", event.key, evidence)
        return Settlement("ignored")


def _reversed(outcome: str, taken: Money) -> Settlement:
    return Settlement(outcome, Move.REVERSE, taken.amount)


def _doubt_about_reversal(payment: Payment, event: GatewayEvent) -> str | None:
    """Why this reversal may not be applied as it stands (None: apply it)."""
    if not payment.takes_reversals:
        return (
            f"{event.outcome} at the gateway while the payment is {payment.status}: nothing was credited to take back"
        )
    if event.outcome is Outcome.REFUNDED and event.paid is not None and event.paid != payment.price:
        return f"the refunded charge was for {event.paid}, but the payment was for {payment.price}"
    return None


def _paid(payment: Payment, event: GatewayEvent, evidence: dict[str, str]) -> Settlement:
    paid = event.paid
    stranger = _not_the_payments_own(payment, event)
    if payment.takes_reversals or payment.status is PaymentStatus.NEEDS_REVIEW:
        first = f"confirmed by {payment.confirmed_by}" if payment.takes_reversals else "sent to review"
        reason = stranger or f"paid again ({event.key}) after the payment was {first}"
        payment.hold("paid", reason, event.key, {**evidence, "paid": str(paid) if paid else "unknown"})
        return Settlement("held")  # its gateway object stays unlinked: its refunds never touch this payment
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED):
        payment.ignore(f"payment already {payment.status}", event.key, evidence)
        return Settlement("ignored")
    if stranger is None and payment.is_pending and paid is not None and paid == payment.price:
        payment.confirm(paid, event.key, evidence, event.gateway_object)
        return Settlement("confirmed", Move.TOP_UP, payment.credits)
    reason = stranger or (
        f"paid {paid if paid else 'an unknown amount'} but the payment asks for {payment.price}"
        if payment.is_pending
        else f"paid after the payment was {payment.status}"
    )
    payment.flag_for_review(reason, paid, event.key, evidence)
    return Settlement("needs_review")


def _not_the_payments_own(payment: Payment, event: GatewayEvent) -> str | None:
    """Why the paid object is not the one this payment created (None: it is)."""
    if event.payment_id is not None and event.payment_id != str(payment.id):
        return f"the paid checkout names payment {event.payment_id}, not this one"
    if event.checkout_id is None:
        return None
    if payment.checkout_id is not None and event.checkout_id != payment.checkout_id:
        return f"paid through checkout {event.checkout_id}, not the payment's own {payment.checkout_id}"
    if payment.checkout_id is None and event.payment_id is None:
        return f"checkout {event.checkout_id} cannot be tied to this payment: it names no payment"
    return None
