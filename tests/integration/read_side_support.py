"""A ledger with every kind of row the read side holds, and the projection tables as plain rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import anyio
import psycopg

from adapters.persistence import persistence_env
from adapters.read_side.reads import ProjectionReads
from application.admin import Receipt
from application.gateways import GatewayEvent, Outcome
from application.payments import TopUpOrder
from application.projection import MOVEMENTS
from application.queries import AsyncReadModel
from application.replay import ledger_events
from domain.money import Money
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.settings import Settings
from tests.integration.support import SESSION_SECRET

T = TypeVar("T")

ALICE = "a1" * 32
BOB = "b2" * 32
CAROL = "c3" * 32
ADMIN = "ad" * 32
TABLES = ("read_payments", "read_payment_changes", "read_wallets", "read_wallet_entries", "read_tracking")


def read_side_services(database_url: str) -> Services:
    """Demo gateways (stripe, clickpesa, bank), bank transfers needing two admins, no background loops."""
    settings = Settings(
        database_url=database_url,
        session_secret=SESSION_SECRET,
        bank_confirmations_required=2,
        reconcile_interval_seconds=0,
        checkpoint_interval_seconds=0,
    )
    return bootstrap(settings)


@dataclass(frozen=True)
class Scenario:
    """Alice: confirmed then partly refunded, failed, pending (ClickPesa), a bank transfer one admin confirmed.
    Bob: a bank transfer sent to review, a confirmed top-up. Carol: nothing."""

    refunded: UUID
    failed: UUID
    pending: UUID
    half_confirmed_bank: UUID
    in_review: UUID
    bobs_confirmed: UUID


def populate(services: Services) -> Scenario:
    payments = services.payments
    refunded = _paid(services, ALICE, "25.00", "pi_refunded")
    payments.apply(_refund(refunded, "10.00", "25.00", "pi_refunded"))
    failed = payments.initiate(ALICE, TopUpOrder("7.00", "USD", "stripe")).payment
    payments.apply(GatewayEvent("stripe", Outcome.FAILED, failed.reference, "stripe:failed", None, {}))
    pending = payments.initiate(ALICE, TopUpOrder("10000", "TZS", "clickpesa")).payment
    half = payments.initiate(ALICE, TopUpOrder("1000.00", "USD", "bank")).payment
    services.admin.confirm(ADMIN, half.payment_id, Receipt("1000.00", "USD", "statement line 3"))
    review = payments.initiate(BOB, TopUpOrder("1200.00", "USD", "bank")).payment
    services.admin.confirm(ADMIN, review.payment_id, Receipt("900.00", "USD"))
    bobs = _paid(services, BOB, "5.00", "pi_bob")
    return Scenario(refunded, failed.payment_id, pending.payment_id, half.payment_id, review.payment_id, bobs)


def _paid(services: Services, user_id: str, amount: str, intent: str) -> UUID:
    view = services.payments.initiate(user_id, TopUpOrder(amount, "USD", "stripe")).payment
    paid = GatewayEvent(
        "stripe", Outcome.PAID, view.reference, f"stripe:{intent}:paid", Money.of(amount, "USD"), {}, intent
    )
    assert services.payments.apply(paid) == "confirmed"
    return view.payment_id


def _refund(payment_id: UUID, amount: str, charged: str, intent: str) -> GatewayEvent:
    return GatewayEvent(
        "stripe",
        Outcome.REFUNDED,
        None,
        f"stripe:{intent}:refunded:{amount}",
        Money.of(charged, "USD"),
        {"payment_id": str(payment_id)},
        gateway_object=intent,
        refunded=Money.of(amount, "USD"),
    )


def caught_up(services: Services) -> ProjectionReads:
    """The projection tables' synchronous reads, once the read model has caught up with the log's head."""
    projector = services.read_side.projector
    assert projector.catch_up(timeout=5.0)
    store = projector.store
    assert isinstance(store, ProjectionReads)
    return store


def ask(services: Services, question: Callable[[AsyncReadModel], Awaitable[T]]) -> T:
    """One question to the async read model, in an event loop of its own (its pool closed after)."""
    model = services.read_side.model

    async def asking() -> T:
        try:
            return await question(model)
        finally:
            await model.close()

    return in_a_fresh_loop(asking)


def in_a_fresh_loop(run: Callable[[], Awaitable[T]]) -> T:
    """`anyio.run` in a thread of its own: a browser test's sync Playwright keeps a loop running in this one."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(anyio.run, run).result()


def table_rows(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the projection tables, sorted: what a rebuild must reproduce exactly."""
    env = persistence_env(database_url)
    if "SQLITE_DBNAME" in env:
        with sqlite3.connect(env["SQLITE_DBNAME"]) as connection:
            return {
                table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall())  # noqa: S608
                for table in TABLES
            }
    schema = env["POSTGRES_SCHEMA"]
    with psycopg.connect(database_url.split("?", 1)[0]) as connection:
        return {
            table: sorted(connection.execute(f'SELECT * FROM "{schema}".{table}').fetchall())  # noqa: S608
            for table in TABLES
        }


def movements_in_log(services: Services) -> int:
    """Credit movements (top-ups and reversals) the log holds: the read model must hold each exactly once."""
    return sum(1 for _, event in ledger_events(services.ledger) if type(event) in MOVEMENTS)
