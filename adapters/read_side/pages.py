"""The statements of paged lists as of a log position (application/paging.py), and their rows as keyed items.

A payment list is read in two parts: payments unchanged since the position, placed by their current rows, and
payments changed since, placed by their state then (`read_payment_changes`); payments made since are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from typing import Any

from adapters.read_side import sql
from application.paging import Listed, PageQuery, PaymentKey
from application.queries import PaymentListing
from application.views import PaymentView, WalletEntry

COLUMNS = ", ".join(f"p.{column}" for column in sql.PAYMENT_COLUMNS.split(", "))
CHANGED = (
    " JOIN {s}read_payment_changes h ON h.payment_id = p.payment_id"
    " WHERE p.position > $1 AND h.position = (SELECT max(c.position) FROM {s}read_payment_changes c"
    " WHERE c.payment_id = p.payment_id AND c.position <= $1)"
)
UNCHANGED = " WHERE p.position <= $1"
ORDER = " ORDER BY desk_priority DESC, p.created_at DESC, p.payment_id DESC"


def payment_statements(
    listing: PaymentListing, query: PageQuery[PaymentKey], values: sql.Values
) -> list[sql.Statement]:
    """The unchanged payments' statement and the changed ones', each for up to `query.limit` rows."""
    return [_payment_statement(listing, query, values, changed) for changed in (False, True)]


def listed_payments(
    row_sets: Iterable[Sequence[Mapping[str, Any]]], values: sql.Values, limit: int
) -> list[Listed[PaymentView]]:
    listed = [_listed_payment(row, values) for row in chain.from_iterable(row_sets)]
    return sorted(listed, key=lambda entry: entry.key.order())[:limit]


def entry_statement(wallet_id: Any, query: PageQuery[int]) -> sql.Statement:
    before = query.as_of + 1 if query.after is None else min(query.after, query.as_of + 1)
    return sql.Statement(sql.ENTRIES_PAGE, (wallet_id, before, query.limit))


def listed_entries(rows: Sequence[Mapping[str, Any]], values: sql.Values) -> list[Listed[WalletEntry]]:
    return [Listed(int(row["position"]), sql.wallet_entry(row, values)) for row in rows]


def _payment_statement(
    listing: PaymentListing, query: PageQuery[PaymentKey], values: sql.Values, changed: bool
) -> sql.Statement:
    state = "h." if changed else "p."
    params: list[Any] = [query.as_of]

    def bound(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    clauses = [""]
    if listing.user_id is not None:
        clauses.append(f"p.user_id = {bound(listing.user_id)}")
    if listing.status is not None:
        clauses.append(f"{state}status = {bound(listing.status)}")
    if listing.gateway is not None:
        clauses.append(f"p.gateway = {bound(listing.gateway)}")
    if listing.created_after is not None:
        clauses.append(f"p.created_at >= {bound(values.time(listing.created_after))}")
    if listing.created_before is not None:
        clauses.append(f"p.created_at < {bound(values.time(listing.created_before))}")
    priority = sql.DESK_PRIORITY.format(a=state) if listing.desk_order else "0"
    if query.after is not None:
        after = query.after
        created, payment = bound(values.time(after.created_at)), bound(values.uuid(after.payment_id))
        # One row comparison, all descending: an index on (priority, created_at, payment_id) serves it.
        if listing.desk_order:
            clauses.append(
                f"({priority}, p.created_at, p.payment_id) < ({bound(after.priority)}, {created}, {payment})"
            )
        else:
            clauses.append(f"(p.created_at, p.payment_id) < ({created}, {payment})")
    where = (CHANGED if changed else UNCHANGED) + " AND ".join(clauses)
    limit = bound(query.limit)
    statement = f"SELECT {COLUMNS}, {priority} AS desk_priority FROM {{s}}read_payments p{where}{ORDER} LIMIT {limit}"
    return sql.Statement(statement, tuple(params))


def _listed_payment(row: Mapping[str, Any], values: sql.Values) -> Listed[PaymentView]:
    view = sql.payment_view(row, values)
    return Listed(PaymentKey(int(row["desk_priority"]), view.created_at, view.payment_id), view)
