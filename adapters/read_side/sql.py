"""The projection tables and every statement on them, written once for PostgreSQL and SQLite.

Statements use asyncpg's `$1` placeholders and `{s}` before each table name (the schema on PostgreSQL); `render`
turns them into psycopg's or sqlite3's style. Values cross through a `Values` codec per store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Protocol
from uuid import UUID

from application.projection import (
    PayeeTotal,
    PaymentChange,
    ProjectedBatch,
    ProjectedPayment,
    WalletBalance,
    WalletMovement,
    WalletOpening,
)
from application.queries import BalanceView
from application.views import DebtView, PayeeView, PaymentView, SpendDetails, SpendView, WalletEntry, WalletView
from domain.approval import AdminApproval
from domain.money import Money
from domain.payment import HeldEvent
from domain.wallet import Wallet

TABLES = ("read_payees", "read_wallet_entries", "read_wallets", "read_payment_changes", "read_payments")
# Raise SCHEMA_VERSION with every change to the tables below: a read model of an older version is then dropped
# and projected again at start (ADR 34). A change without it is caught too, by the digest of the DDL text.
SCHEMA_VERSION = 3  # 3: spends in the wallet entries, payees, debts (ADR 47)
PLACEHOLDER = re.compile(r"\$(\d+)")

_TABLES = """
CREATE TABLE IF NOT EXISTS {s}read_payments (
    payment_id {uuid} PRIMARY KEY,
    user_id text NOT NULL,
    reference text NOT NULL,
    gateway text NOT NULL,
    status text NOT NULL,
    amount {numeric} NOT NULL,
    currency text NOT NULL,
    credits {numeric} NOT NULL,
    payment_url text,
    checkout_id text,
    instructions text NOT NULL,
    status_reason text,
    awaits_admin {boolean} NOT NULL,
    approvals text NOT NULL,
    paid_object text,
    held text NOT NULL,
    needs_attention {boolean} NOT NULL,
    created_at {timestamp} NOT NULL,
    updated_at {timestamp} NOT NULL,
    version bigint NOT NULL,
    position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS read_payments_by_user ON {s}read_payments (user_id, created_at DESC, payment_id DESC);
CREATE INDEX IF NOT EXISTS read_payments_by_time ON {s}read_payments (created_at DESC, payment_id DESC);
CREATE INDEX IF NOT EXISTS read_payments_by_status ON {s}read_payments (status, gateway, created_at DESC);
CREATE INDEX IF NOT EXISTS read_payments_awaiting ON {s}read_payments (created_at DESC) WHERE awaits_admin;
CREATE INDEX IF NOT EXISTS read_payments_by_position ON {s}read_payments (position);
CREATE INDEX IF NOT EXISTS read_payments_by_desk ON {s}read_payments (
    (CASE WHEN awaits_admin AND status = 'pending' THEN 2 WHEN awaits_admin OR needs_attention THEN 1 ELSE 0 END) DESC,
    created_at DESC,
    payment_id DESC
);
CREATE TABLE IF NOT EXISTS {s}read_payment_changes (
    payment_id {uuid} NOT NULL,
    position bigint NOT NULL,
    status text NOT NULL,
    awaits_admin {boolean} NOT NULL,
    needs_attention {boolean} NOT NULL,
    PRIMARY KEY (payment_id, position)
);
CREATE TABLE IF NOT EXISTS {s}read_wallets (
    wallet_id {uuid} PRIMARY KEY,
    user_id text NOT NULL UNIQUE,
    balance {numeric} NOT NULL,
    updated_at {timestamp} NOT NULL,
    position bigint NOT NULL,
    debt_since {timestamp}
);
CREATE TABLE IF NOT EXISTS {s}read_wallet_entries (
    position bigint PRIMARY KEY,
    wallet_id {uuid} NOT NULL,
    kind text NOT NULL,
    amount {numeric} NOT NULL,
    payment_id {uuid},
    at {timestamp} NOT NULL,
    balance_after {numeric} NOT NULL,
    spend_id {uuid},
    payee text,
    order_id text,
    memo text,
    signed_at text
);
CREATE INDEX IF NOT EXISTS read_wallet_entries_by_wallet ON {s}read_wallet_entries (wallet_id, position DESC);
CREATE UNIQUE INDEX IF NOT EXISTS read_wallet_entries_by_spend ON {s}read_wallet_entries (spend_id);
CREATE TABLE IF NOT EXISTS {s}read_payees (
    payee text PRIMARY KEY,
    balance_minor bigint NOT NULL,
    spends bigint NOT NULL
)
"""

PAYMENT_COLUMNS = (
    "payment_id, user_id, reference, gateway, status, amount, currency, credits, payment_url, checkout_id, "
    "instructions, status_reason, awaits_admin, approvals, paid_object, held, needs_attention, created_at, "
    "updated_at, version, position"
)
UPSERT_PAYMENT = f"""
INSERT INTO {{s}}read_payments AS p ({PAYMENT_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
ON CONFLICT (payment_id) DO UPDATE SET
    status = excluded.status, credits = excluded.credits, payment_url = excluded.payment_url,
    checkout_id = excluded.checkout_id, instructions = excluded.instructions,
    status_reason = excluded.status_reason, awaits_admin = excluded.awaits_admin, approvals = excluded.approvals,
    paid_object = excluded.paid_object, held = excluded.held, needs_attention = excluded.needs_attention, updated_at = excluded.updated_at, version = excluded.version, position = excluded.position
WHERE p.version < excluded.version
"""
# A payment's status and desk rank after each of its events: pages read as of an earlier position place it by them.
INSERT_CHANGE = """
INSERT INTO {s}read_payment_changes (payment_id, position, status, awaits_admin, needs_attention)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING
"""
INSERT_WALLET = """
INSERT INTO {s}read_wallets (wallet_id, user_id, balance, updated_at, position) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (wallet_id) DO NOTHING
"""
ENTRY_COLUMNS = "kind, amount, payment_id, at, balance_after, spend_id, payee, order_id, memo, signed_at"
# Plain INSERT: a movement applied twice is a primary-key violation, and its whole batch rolls back.
INSERT_MOVEMENT = f"""
INSERT INTO {{s}}read_wallet_entries (position, wallet_id, {ENTRY_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
"""
# $5: below zero now; $6: the debt (re)started within the batch, at $7 (else one from before goes on).
UPDATE_BALANCE = """
UPDATE {s}read_wallets SET balance = $1, updated_at = $2, position = $3,
    debt_since = CASE WHEN $5 THEN (CASE WHEN $6 THEN $7 ELSE COALESCE(debt_since, $7) END) ELSE NULL END
WHERE wallet_id = $4 AND position < $3
"""
# Payee balances in minor units (integers): added up in SQL exactly, on SQLite as on PostgreSQL.
ADD_TO_PAYEE = """
INSERT INTO {s}read_payees AS p (payee, balance_minor, spends) VALUES ($1, $2, $3)
ON CONFLICT (payee) DO UPDATE SET balance_minor = p.balance_minor + excluded.balance_minor,
    spends = p.spends + excluded.spends
"""
PAYMENTS_OF = f"""
SELECT {PAYMENT_COLUMNS} FROM {{s}}read_payments WHERE user_id = $1 ORDER BY created_at DESC, payment_id DESC
"""
PAYMENT = f"SELECT {PAYMENT_COLUMNS} FROM {{s}}read_payments WHERE payment_id = $1"
PENDING_SINCE = f"""
SELECT {PAYMENT_COLUMNS} FROM {{s}}read_payments WHERE status = 'pending' AND created_at < $1
ORDER BY created_at, payment_id
"""
CREDITED_SINCE = f"""
SELECT {PAYMENT_COLUMNS} FROM {{s}}read_payments
WHERE gateway = $1 AND status IN ('confirmed', 'refunded', 'disputed') AND paid_object IS NOT NULL AND created_at >= $2
ORDER BY created_at, payment_id
"""
AWAITING_ADMIN = "SELECT status, count(*) AS payments FROM {s}read_payments WHERE awaits_admin GROUP BY status"
# The admin desk's groups, first to last: pending transfers awaiting an admin 2, other payments awaiting one (or
# holding gateway news for one) 1, the rest 0.
DESK_PRIORITY = (
    "CASE WHEN {a}awaits_admin AND {a}status = 'pending' THEN 2 WHEN {a}awaits_admin OR {a}needs_attention THEN 1 "
    "ELSE 0 END"
)
WALLET = """
SELECT w.user_id, w.balance, e.kind, e.amount, e.payment_id, e.at, e.balance_after, e.spend_id, e.payee, e.order_id,
    e.memo, e.signed_at
FROM {s}read_wallets w LEFT JOIN {s}read_wallet_entries e ON e.wallet_id = w.wallet_id
WHERE w.wallet_id = $1 ORDER BY e.position DESC
"""
BALANCE = "SELECT user_id, balance FROM {s}read_wallets WHERE wallet_id = $1"
BALANCES = "SELECT user_id, balance FROM {s}read_wallets WHERE user_id > $1 ORDER BY user_id LIMIT $2"
ENTRIES_PAGE = f"""
SELECT position, {ENTRY_COLUMNS} FROM {{s}}read_wallet_entries
WHERE wallet_id = $1 AND position < $2 ORDER BY position DESC LIMIT $3
"""
SPEND = """
SELECT w.user_id, e.amount, e.at, e.balance_after, e.spend_id, e.payee, e.order_id, e.memo, e.signed_at
FROM {s}read_wallet_entries e JOIN {s}read_wallets w ON w.wallet_id = e.wallet_id WHERE e.spend_id = $1
"""
PAYEES = "SELECT payee, balance_minor, spends FROM {s}read_payees"
DEBTS = "SELECT user_id, balance, debt_since FROM {s}read_wallets WHERE debt_since IS NOT NULL"


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple[Any, ...] = ()


def ddl(schema_prefix: str, types: Mapping[str, str]) -> list[str]:
    """The CREATE statements, one per string."""
    text = _TABLES.format(s=schema_prefix, **types)
    return [statement.strip() for statement in text.split(";") if statement.strip()]


@cache
def render(sql: str, schema_prefix: str, style: str) -> str:
    """`$n` placeholders as asyncpg ("numeric"), psycopg ("pyformat": %(pn)s) or sqlite3 ("named": :pn) want them;
    the last two take their parameters as `named(params)`."""
    text = sql.format(s=schema_prefix)
    if style == "numeric":
        return text
    if style == "pyformat":
        return PLACEHOLDER.sub(r"%(p\1)s", text)
    return PLACEHOLDER.sub(r":p\1", text)  # not ?n: numbered qmarks with a sequence are deprecated (Python 3.12)


def named(params: Sequence[Any]) -> dict[str, Any]:
    """Positional parameters as psycopg's pyformat style names them."""
    return {f"p{index}": value for index, value in enumerate(params, start=1)}


class Values(Protocol):
    """How one store holds UUIDs, decimals, times and flags."""

    def uuid(self, value: UUID) -> Any: ...
    def decimal(self, value: Decimal) -> Any: ...
    def time(self, value: datetime) -> Any: ...
    def flag(self, value: bool) -> Any: ...
    def read_uuid(self, value: Any) -> UUID: ...
    def read_decimal(self, value: Any) -> Decimal: ...
    def read_time(self, value: Any) -> datetime: ...


class PostgresValues:
    """psycopg and asyncpg carry these types natively."""

    def uuid(self, value: UUID) -> Any:
        return value

    def decimal(self, value: Decimal) -> Any:
        return value

    def time(self, value: datetime) -> Any:
        return value

    def flag(self, value: bool) -> Any:
        return value

    def read_uuid(self, value: Any) -> UUID:
        return value if type(value) is UUID else UUID(str(value))

    def read_decimal(self, value: Any) -> Decimal:
        return Decimal(value)

    def read_time(self, value: Any) -> datetime:
        moment: datetime = value
        return moment.astimezone(UTC)


class SqliteValues:
    """Text for UUIDs, decimals (exact) and times (UTC, fixed width, so they sort), 0/1 for flags."""

    def uuid(self, value: UUID) -> Any:
        return str(value)

    def decimal(self, value: Decimal) -> Any:
        return str(value)

    def time(self, value: datetime) -> Any:
        return _utc_text(value)

    def flag(self, value: bool) -> Any:
        return int(value)

    def read_uuid(self, value: Any) -> UUID:
        return UUID(value)

    def read_decimal(self, value: Any) -> Decimal:
        return Decimal(value)

    def read_time(self, value: Any) -> datetime:
        return datetime.fromisoformat(value)


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def payment_params(row: ProjectedPayment, values: Values) -> tuple[Any, ...]:
    view = row.view
    return (
        values.uuid(view.payment_id),
        view.user_id,
        view.reference,
        view.gateway,
        view.status,
        values.decimal(view.amount),
        view.currency,
        values.decimal(view.credits),
        view.payment_url,
        view.checkout_id,
        json.dumps(dict(view.instructions), sort_keys=True),
        view.status_reason,
        values.flag(view.awaits_admin),
        json.dumps([_approval(approval) for approval in view.approvals]),
        view.paid_object,
        json.dumps([_held(held) for held in view.held]),
        values.flag(view.needs_attention),
        values.time(view.created_at),
        values.time(view.updated_at),
        row.version,
        row.position,
    )


def change_params(row: PaymentChange, values: Values) -> tuple[Any, ...]:
    return (
        values.uuid(row.payment_id),
        row.position,
        row.status,
        values.flag(row.awaits_admin),
        values.flag(row.needs_attention),
    )


def wallet_params(row: WalletOpening, values: Values) -> tuple[Any, ...]:
    return (values.uuid(row.wallet_id), row.user_id, values.decimal(Decimal("0.00")), values.time(row.at), row.position)


def movement_params(row: WalletMovement, values: Values) -> tuple[Any, ...]:
    entry = row.entry
    spend = entry.spend
    return (
        row.position,
        values.uuid(row.wallet_id),
        entry.kind,
        values.decimal(entry.amount),
        None if entry.payment_id is None else values.uuid(entry.payment_id),
        values.time(entry.at),
        values.decimal(entry.balance_after),
        None if spend is None else values.uuid(spend.spend_id),
        None if spend is None else spend.payee,
        None if spend is None else spend.order_id,
        None if spend is None else spend.memo,
        None if spend is None else spend.signed_at,
    )


def balance_params(row: WalletBalance, values: Values) -> tuple[Any, ...]:
    last = row.last
    return (
        values.decimal(last.entry.balance_after),
        values.time(last.entry.at),
        last.position,
        values.uuid(last.wallet_id),
        values.flag(row.debt_from is not None),
        values.flag(row.debt_restarted),
        values.time(row.debt_from or last.entry.at),
    )


def payee_params(row: PayeeTotal) -> tuple[Any, ...]:
    return (row.payee, to_minor(row.amount), row.spends)


def to_minor(amount: Decimal) -> int:
    return int((amount * 100).to_integral_exact())


def from_minor(minor: int) -> Decimal:
    return Decimal(int(minor)).scaleb(-2)


def batch_statements(batch: ProjectedBatch, values: Values) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Each statement of a batch with all its parameter rows, in the order they must run."""
    steps = [
        (UPSERT_PAYMENT, [payment_params(row, values) for row in batch.payments]),
        (INSERT_CHANGE, [change_params(row, values) for row in batch.changes]),
        (INSERT_WALLET, [wallet_params(row, values) for row in batch.wallets]),
        (INSERT_MOVEMENT, [movement_params(row, values) for row in batch.movements]),
        (UPDATE_BALANCE, [balance_params(row, values) for row in batch.balances()]),
        (ADD_TO_PAYEE, [payee_params(row) for row in batch.payees()]),
    ]
    return [(sql, rows) for sql, rows in steps if rows]


def wallet_id(user_id: str) -> UUID:
    return Wallet.create_id(user_id)


def payment_view(row: Mapping[str, Any], values: Values) -> PaymentView:
    return PaymentView(
        payment_id=values.read_uuid(row["payment_id"]),
        user_id=row["user_id"],
        reference=row["reference"],
        gateway=row["gateway"],
        status=row["status"],
        amount=values.read_decimal(row["amount"]),
        currency=row["currency"],
        credits=values.read_decimal(row["credits"]),
        payment_url=row["payment_url"],
        created_at=values.read_time(row["created_at"]),
        updated_at=values.read_time(row["updated_at"]),
        instructions=json.loads(row["instructions"]),
        status_reason=row["status_reason"],
        checkout_id=row["checkout_id"],
        awaits_admin=bool(row["awaits_admin"]),
        approvals=tuple(_read_approval(item) for item in json.loads(row["approvals"])),
        paid_object=row["paid_object"],
        held=tuple(_read_held(item) for item in json.loads(row["held"])),
        needs_attention=bool(row["needs_attention"]),
    )


def wallet_view(user_id: str, rows: Sequence[Mapping[str, Any]], values: Values) -> WalletView:
    if not rows:
        return WalletView.empty(user_id)
    entries = tuple(wallet_entry(row, values) for row in rows if row["kind"] is not None)
    return WalletView(user_id, values.read_decimal(rows[0]["balance"]), entries)


def wallet_entry(row: Mapping[str, Any], values: Values) -> WalletEntry:
    payment = row["payment_id"]
    return WalletEntry(
        kind=row["kind"],
        amount=values.read_decimal(row["amount"]),
        payment_id=None if payment is None else values.read_uuid(payment),
        at=values.read_time(row["at"]),
        balance_after=values.read_decimal(row["balance_after"]),
        spend=None if row["spend_id"] is None else spend_details(row, values),
    )


def spend_details(row: Mapping[str, Any], values: Values) -> SpendDetails:
    return SpendDetails(values.read_uuid(row["spend_id"]), row["payee"], row["order_id"], row["memo"], row["signed_at"])


def spend_view(row: Mapping[str, Any], values: Values) -> SpendView:
    return SpendView(
        user_id=row["user_id"],
        amount=values.read_decimal(row["amount"]),
        at=values.read_time(row["at"]),
        balance_after=values.read_decimal(row["balance_after"]),
        details=spend_details(row, values),
    )


def payees(rows: Sequence[Mapping[str, Any]]) -> list[PayeeView]:
    """Highest balance first (sorted here: SQLite holds decimals as text)."""
    views = [PayeeView(row["payee"], from_minor(row["balance_minor"]), int(row["spends"])) for row in rows]
    return sorted(views, key=lambda view: (-view.balance, view.payee))


def debts(rows: Sequence[Mapping[str, Any]], values: Values) -> list[DebtView]:
    """Deepest first."""
    views = [
        DebtView(row["user_id"], values.read_decimal(row["balance"]), values.read_time(row["debt_since"]))
        for row in rows
    ]
    return sorted(views, key=lambda view: (view.balance, view.user_id))


def balance_view(row: Mapping[str, Any], values: Values) -> BalanceView:
    return BalanceView(row["user_id"], values.read_decimal(row["balance"]))


def _approval(approval: AdminApproval) -> dict[str, Any]:
    return {
        "admin": approval.admin,
        "amount": str(approval.received.amount),
        "currency": approval.received.currency,
        "credit_received": approval.credit_received,
        "note": approval.note,
        "at": _utc_text(approval.at),
        "round": approval.round,
    }


def _held(held: HeldEvent) -> dict[str, Any]:
    return {
        "news": held.news,
        "reason": held.reason,
        "key": held.key,
        "evidence": held.evidence,
        "at": _utc_text(held.at),
    }


def _read_held(item: Mapping[str, Any]) -> HeldEvent:
    return HeldEvent(item["news"], item["reason"], item["key"], item["evidence"], datetime.fromisoformat(item["at"]))


def _read_approval(item: Mapping[str, Any]) -> AdminApproval:
    return AdminApproval(
        admin=item["admin"],
        received=Money(Decimal(item["amount"]), item["currency"]),
        credit_received=item["credit_received"],
        note=item["note"],
        at=datetime.fromisoformat(item["at"]),
        round=item["round"],
    )
