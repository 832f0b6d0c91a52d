"""Synchronous reads of the projection tables, for use cases that run in threads (reconciler, CLI, admin)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from adapters.read_side import pages, sql
from application.paging import Listed, PageQuery, PaymentKey
from application.queries import BalanceView, PaymentListing
from application.views import DebtView, PayeeView, PaymentView, SpendView, WalletEntry, WalletView


class ProjectionReads:
    """Every read-side question, over `_rows(statement, params)` of one store."""

    values: sql.Values

    def _rows(self, statement: str, params: Sequence[Any]) -> list[Mapping[str, Any]]:
        raise NotImplementedError

    def payments_of(self, user_id: str) -> list[PaymentView]:
        return self._views(sql.PAYMENTS_OF, (user_id,))

    def payment(self, payment_id: UUID) -> PaymentView | None:
        views = self._views(sql.PAYMENT, (self.values.uuid(payment_id),))
        return views[0] if views else None

    def pending_since(self, cutoff: datetime) -> list[PaymentView]:
        return self._views(sql.PENDING_SINCE, (self.values.time(cutoff),))

    def credited_since(self, gateway: str, cutoff: datetime) -> list[PaymentView]:
        return self._views(sql.CREDITED_SINCE, (gateway, self.values.time(cutoff)))

    def payment_page(self, listing: PaymentListing, query: PageQuery[PaymentKey]) -> list[Listed[PaymentView]]:
        statements = pages.payment_statements(listing, query, self.values)
        row_sets = [self._rows(statement.sql, statement.params) for statement in statements]
        return pages.listed_payments(row_sets, self.values, query.limit)

    def entry_page(self, user_id: str, query: PageQuery[int]) -> list[Listed[WalletEntry]]:
        statement = pages.entry_statement(self.values.uuid(sql.wallet_id(user_id)), query)
        return pages.listed_entries(self._rows(statement.sql, statement.params), self.values)

    def awaiting_admin(self) -> dict[str, int]:
        return {row["status"]: int(row["payments"]) for row in self._rows(sql.AWAITING_ADMIN, ())}

    def wallet_of(self, user_id: str) -> WalletView:
        rows = self._rows(sql.WALLET, (self.values.uuid(sql.wallet_id(user_id)),))
        return sql.wallet_view(user_id, rows, self.values)

    def balance_of(self, user_id: str) -> BalanceView:
        rows = self._rows(sql.BALANCE, (self.values.uuid(sql.wallet_id(user_id)),))
        return sql.balance_view(rows[0], self.values) if rows else BalanceView(user_id, Decimal("0.00"))

    def balances(self, after_user: str = "", limit: int = 1000) -> list[BalanceView]:
        return [sql.balance_view(row, self.values) for row in self._rows(sql.BALANCES, (after_user, limit))]

    def spend(self, spend_id: UUID) -> SpendView | None:
        rows = self._rows(sql.SPEND, (self.values.uuid(spend_id),))
        return sql.spend_view(rows[0], self.values) if rows else None

    def payees(self) -> list[PayeeView]:
        return sql.payees(self._rows(sql.PAYEES, ()))

    def debts(self) -> list[DebtView]:
        return sql.debts(self._rows(sql.DEBTS, ()), self.values)

    def _views(self, statement: str, params: Sequence[Any]) -> list[PaymentView]:
        return [sql.payment_view(row, self.values) for row in self._rows(statement, params)]
