"""The admin desk: every payment, bank transfers confirmed by admins (maker-checker), reviews resolved."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.amounts import stated_amount
from application.credits import CreditService
from application.errors import Conflict, Invalid
from application.ledger import Ledger, retry_on_conflict
from application.metrics import NoMetrics
from application.ports import Metrics, PaymentQueries
from application.views import PaymentView
from domain.approval import Verdict
from domain.errors import AlreadyCredited, SelfApproval, TransitionNotAllowed
from domain.money import CREDITS, Money
from domain.payment import Payment, PaymentStatus
from domain.wallet import Wallet

STATUSES = tuple(status.value for status in PaymentStatus)


@dataclass(frozen=True)
class Receipt:
    """What an admin saw arrive; `credit_received_amount` accepts an amount other than the price."""

    amount: Decimal | str | int
    currency: str
    note: str | None = None
    credit_received_amount: bool = False


class AdminService:
    """Admin actions on any user's payment; each is an event naming the admin's key."""

    def __init__(
        self, ledger: Ledger, queries: PaymentQueries, confirmations_required: int, *, metrics: Metrics | None = None
    ) -> None:
        self._ledger = ledger
        self._queries = queries
        self._credits = CreditService(ledger)
        self._metrics = metrics or NoMetrics()
        self.confirmations_required = confirmations_required

    def payments(self, status: str | None = None, gateway: str | None = None) -> list[PaymentView]:
        """Every user's payments: bank transfers awaiting confirmation, then reviews, then the rest."""
        if status is not None and status not in STATUSES:
            raise Invalid(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        return sorted(self._queries.all_payments(status, gateway), key=_desk_order)

    def confirm(self, admin: str, payment_id: UUID, receipt: Receipt) -> PaymentView:
        """Record an admin's confirmation; credits once enough admins agree on the amount received."""
        received = stated_amount("received_amount", receipt.amount, receipt.currency)
        return retry_on_conflict(lambda: self._confirm_once(admin, payment_id, received, receipt))

    def reject(self, admin: str, payment_id: UUID, reason: str) -> PaymentView:
        """Refuse a pending bank transfer or a payment in review, for the stated reason."""

        def attempt() -> PaymentView:
            payment = self._ledger.payment(payment_id)
            with _conflict_on_refused_decision():
                payment.reject_by_admin(admin, reason)
            self._ledger.commit(payment)
            return PaymentView.of(payment)

        return retry_on_conflict(attempt)

    def _confirm_once(self, admin: str, payment_id: UUID, received: Money, receipt: Receipt) -> PaymentView:
        payment = self._ledger.payment(payment_id)
        with _conflict_on_refused_decision():
            decision = payment.confirm_by_admin(
                admin, received, receipt.credit_received_amount, receipt.note, self.confirmations_required
            )
        wallet = self._credit(payment) if decision.verdict is Verdict.CREDIT else None
        self._ledger.commit(payment, wallet)
        if wallet is not None:
            self._metrics.payment_confirmed(payment.gateway)
            self._metrics.credits_topped_up(payment.gateway, wallet.entries[-1].amount)
        return PaymentView.of(payment)

    def _credit(self, payment: Payment) -> Wallet:
        try:
            return self._credits.top_up(payment.user_id, Money(payment.credits, CREDITS), payment.id)
        except AlreadyCredited:
            # A racing writer settled it after we read the payment: read both again.
            raise IntegrityError(f"payment {payment.id} was settled concurrently") from None


@contextmanager
def _conflict_on_refused_decision() -> Iterator[None]:
    try:
        yield
    except (TransitionNotAllowed, SelfApproval) as error:
        raise Conflict(str(error)) from None


def _desk_order(view: PaymentView) -> int:
    if view.awaits_admin:
        return 0 if view.status == PaymentStatus.PENDING else 1
    return 2
