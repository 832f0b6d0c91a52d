"""A read model kept in memory by following the ledger's notification log: what unit tests read."""

from __future__ import annotations

import threading
from datetime import datetime
from uuid import UUID

from application.ledger import Ledger
from application.projection import PaymentFolds, project
from application.views import PaymentView, WalletEntry, WalletView
from domain.wallet import Wallet


class FollowingPaymentQueries:
    """Catches up with the log before each answer, so a writer always reads its own writes."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._position = 0
        self._payments: dict[UUID, PaymentView] = {}
        self._by_user: dict[str, set[UUID]] = {}
        self._movements: dict[UUID, list[WalletEntry]] = {}
        self._folds = PaymentFolds(ledger)
        self._lock = threading.Lock()

    def payments_of(self, user_id: str) -> list[PaymentView]:
        self._catch_up()
        views = [self._payments[pid] for pid in self._by_user.get(user_id, ())]
        return sorted(views, key=lambda view: (view.created_at, str(view.payment_id)), reverse=True)

    def pending_since(self, cutoff: datetime) -> list[PaymentView]:
        self._catch_up()
        pending = [v for v in self._payments.values() if v.status == "pending" and v.created_at < cutoff]
        return sorted(pending, key=lambda view: view.created_at)

    def credited_since(self, gateway: str, cutoff: datetime) -> list[PaymentView]:
        self._catch_up()
        credited = [
            view
            for view in self._payments.values()
            if view.gateway == gateway
            and view.status in ("confirmed", "refunded", "disputed")
            and view.paid_object
            and view.created_at >= cutoff
        ]
        return sorted(credited, key=lambda view: (view.created_at, str(view.payment_id)))

    def wallet_of(self, user_id: str) -> WalletView:
        self._catch_up()
        movements = self._movements.get(Wallet.create_id(user_id))
        if not movements:
            return WalletView.empty(user_id)
        return WalletView(user_id, movements[-1].balance_after, tuple(reversed(movements)))

    def _catch_up(self) -> None:
        with self._lock:
            while page := self._ledger.recorder.select_notifications(
                start=self._position, limit=500, inclusive_of_start=False
            ):
                batch = project(self._ledger, self._folds, self._position, page)
                for projected in batch.payments:
                    self._store(projected.view)
                for movement in batch.movements:
                    self._movements.setdefault(movement.wallet_id, []).append(movement.entry)
                self._position = batch.end

    def _store(self, view: PaymentView) -> None:
        self._payments[view.payment_id] = view
        self._by_user.setdefault(view.user_id, set()).add(view.payment_id)


def wallet_of(ledger: Ledger, user_id: str) -> WalletView:
    """A user's balance and movements as the read model would show them, folded from the log here."""
    return FollowingPaymentQueries(ledger).wallet_of(user_id)


def payments_of(ledger: Ledger, user_id: str) -> list[PaymentView]:
    """A user's payments, newest first, as the read model would list them."""
    return FollowingPaymentQueries(ledger).payments_of(user_id)
