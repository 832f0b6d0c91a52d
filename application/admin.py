"""The admin desk's decisions: bank transfers confirmed by admins (maker-checker), reviews resolved.

Its queue is read from the read model (`PaymentReader`, in the desk's order), never from here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from application.amounts import stated_amount
from application.credits import CreditService
from application.errors import Conflict
from application.ledger import Ledger, retry_on_conflict
from application.metrics import NoMetrics
from application.ports import Metrics
from application.views import PaymentView
from domain.approval import Verdict
from domain.errors import SelfApproval, TransitionNotAllowed
from domain.money import Money
from domain.payment import Payment


@dataclass(frozen=True)
class Receipt:
    """What an admin saw arrive; `credit_received_amount` accepts an amount other than the price."""

    amount: Decimal | str | int
    currency: str
    note: str | None = None
    credit_received_amount: bool = False


class AdminService:
    """Admin actions on any user's payment; each is an event naming the admin's key."""

    def __init__(self, ledger: Ledger, confirmations_required: int, *, metrics: Metrics | None = None) -> None:
        self._ledger = ledger
        self._credits = CreditService(ledger)
        self._metrics = metrics or NoMetrics()
        self.confirmations_required = confirmations_required

    def confirm(self, admin: str, payment_id: UUID, receipt: Receipt) -> PaymentView:
        """Record an admin's confirmation; credits once enough admins agree on the amount received."""
        received = stated_amount("received_amount", receipt.amount, receipt.currency)
        return retry_on_conflict(lambda: self._confirm_once(admin, payment_id, received, receipt))

    def reject(self, admin: str, payment_id: UUID, reason: str) -> PaymentView:
        """Refuse a pending bank transfer or a payment in review, for the stated reason."""
        return self._decide(payment_id, lambda payment: payment.reject_by_admin(admin, reason))

    def acknowledge(self, admin: str, payment_id: UUID, note: str) -> PaymentView:
        """An admin has seen the payment's held gateway news; nothing moves in any wallet."""
        return self._decide(payment_id, lambda payment: payment.acknowledge_held(admin, note))

    def _decide(self, payment_id: UUID, decision: Callable[[Payment], None]) -> PaymentView:
        """An admin decision that moves no credits: load, decide, save."""

        def attempt() -> PaymentView:
            payment = self._ledger.payment(payment_id)
            with _conflict_on_refused_decision():
                decision(payment)
            self._ledger.commit(payment)
            return PaymentView.of(payment)

        return retry_on_conflict(attempt)

    def _confirm_once(self, admin: str, payment_id: UUID, received: Money, receipt: Receipt) -> PaymentView:
        payment = self._ledger.payment(payment_id)
        with _conflict_on_refused_decision():
            decision = payment.confirm_by_admin(
                admin, received, receipt.credit_received_amount, receipt.note, self.confirmations_required
            )
        credited = decision.verdict is Verdict.CREDIT
        wallet = self._credits.move(payment)
        self._ledger.commit(payment, wallet)
        if credited:
            self._metrics.payment_confirmed(payment.gateway)
            self._metrics.credits_topped_up(payment.gateway, payment.credits)
        return PaymentView.of(payment)


@contextmanager
def _conflict_on_refused_decision() -> Iterator[None]:
    try:
        yield
    except (TransitionNotAllowed, SelfApproval) as error:
        raise Conflict(str(error)) from None
