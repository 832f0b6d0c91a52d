"""The read side on PostgreSQL for async handlers: projection tables through an asyncpg pool, LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from adapters.read_side import pages, sql
from adapters.read_side.postgres import TRACKING_TABLE, VALUES, PostgresPlace
from application.errors import StoreUnavailable
from application.paging import Listed, PageQuery, PaymentKey
from application.queries import BalanceView, PaymentListing
from application.revocations import LogFollower
from application.views import PaymentView, WalletEntry, WalletView

logger = logging.getLogger("mcpay.read_side")

# What a database that is down, restarting or unreachable raises: the read is a 503, not an error of ours.
UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    # A pooled connection idle when the server shut down holds the unsolicited FATAL ("terminating connection
    # due to administrator command") until asyncpg sees the socket close; a read in between finds its protocol
    # still consuming that error. (Reads on another event loop, which fail the same way, are refused first:
    # PoolOfAnotherLoop, ADR 43.)
    asyncpg.InternalClientError,
)
PING_SECONDS = 5.0
RECONNECT_SECONDS = 1.0


class PoolOfAnotherLoop(RuntimeError):
    """The pool was opened in an event loop that is still running elsewhere: asyncpg connections are bound to
    their loop and its thread, and driving them from a second one corrupts the protocol's state."""


class AsyncpgQueries:
    """Every read-side question, one pooled asyncpg round trip each; word of progress by LISTEN.

    The pool belongs to the event loop that opened it. Asked from another loop, it opens a new pool there once
    the first loop has closed (an app served again, a test's loop), and refuses while that loop still runs."""

    # Six pooled connections answer thousands of reads a second; with the listener and the lease connection,
    # two processes and the write side's pools still fit in PostgreSQL's default 100 connections.
    def __init__(self, place: PostgresPlace, min_size: int = 1, max_size: int = 6) -> None:
        self._place = place
        self._sizes = (min_size, max_size)
        self._pool: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the pool (and its lock) belong to
        self._opening: asyncio.Lock | None = None

    async def payments_of(self, user_id: str) -> list[PaymentView]:
        return await self._views(sql.PAYMENTS_OF, user_id)

    async def payment(self, payment_id: UUID) -> PaymentView | None:
        views = await self._views(sql.PAYMENT, payment_id)
        return views[0] if views else None

    async def payment_page(self, listing: PaymentListing, query: PageQuery[PaymentKey]) -> list[Listed[PaymentView]]:
        statements = pages.payment_statements(listing, query, VALUES)
        row_sets = [await self._rows(statement.sql, *statement.params) for statement in statements]
        return pages.listed_payments(row_sets, VALUES, query.limit)

    async def entry_page(self, user_id: str, query: PageQuery[int]) -> list[Listed[WalletEntry]]:
        statement = pages.entry_statement(sql.wallet_id(user_id), query)
        return pages.listed_entries(await self._rows(statement.sql, *statement.params), VALUES)

    async def awaiting_admin(self) -> dict[str, int]:
        return {row["status"]: int(row["payments"]) for row in await self._rows(sql.AWAITING_ADMIN)}

    async def wallet_of(self, user_id: str) -> WalletView:
        rows = await self._rows(sql.WALLET, sql.wallet_id(user_id))
        return sql.wallet_view(user_id, rows, VALUES)

    async def balance_of(self, user_id: str) -> BalanceView:
        rows = await self._rows(sql.BALANCE, sql.wallet_id(user_id))
        return sql.balance_view(rows[0], VALUES) if rows else BalanceView(user_id, Decimal("0.00"))

    async def balances(self, after_user: str = "", limit: int = 1000) -> list[BalanceView]:
        return [sql.balance_view(row, VALUES) for row in await self._rows(sql.BALANCES, after_user, limit)]

    async def position(self) -> int:
        statement = f"SELECT notification_id FROM {{s}}{TRACKING_TABLE} WHERE application_name = $1"
        return await self._value(statement, self._place.application_name)

    async def head(self) -> int:
        return await self._value(f"SELECT max(notification_id) FROM {{s}}{self._place.events_table}")

    async def listen(
        self, projected: Callable[[int], None], written: Callable[[], None], hearing: Callable[[bool], None]
    ) -> None:
        def listening() -> None:
            hearing(True)
            written()  # whatever was written while nobody listened

        channels = {
            self._place.read_channel: lambda payload: projected(int(payload)),
            self._place.ledger_channel: lambda _: written(),
        }
        await follow_channels(self._place, channels, listening, lambda: hearing(False))

    async def close(self) -> None:
        self._settle_in(asyncio.get_running_loop())
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _views(self, statement: str, *params: Any) -> list[PaymentView]:
        return [sql.payment_view(row, VALUES) for row in await self._rows(statement, *params)]

    async def _rows(self, statement: str, *params: Any) -> Sequence[Mapping[str, Any]]:
        try:
            pool = await self._connected()
            rows: Sequence[Mapping[str, Any]] = await pool.fetch(
                sql.render(statement, self._place.prefix, "numeric"), *params
            )
        except UNAVAILABLE as error:
            raise StoreUnavailable("the read model's database does not answer") from error
        return rows

    async def _value(self, statement: str, *params: Any) -> int:
        try:
            pool = await self._connected()
            value = await pool.fetchval(sql.render(statement, self._place.prefix, "numeric"), *params)
        except UNAVAILABLE as error:
            raise StoreUnavailable("the read model's database does not answer") from error
        return int(value or 0)

    async def _connected(self) -> Any:
        self._settle_in(asyncio.get_running_loop())
        if self._pool is not None:
            return self._pool
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                minimum, maximum = self._sizes
                self._pool = await asyncpg.create_pool(
                    **connect_kwargs(self._place), min_size=minimum, max_size=maximum, reset=keep_session
                )
        return self._pool

    def _settle_in(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is loop:
            return
        if self._pool is not None and self._loop is not None and not self._loop.is_closed():
            raise PoolOfAnotherLoop("the read side's asyncpg pool is in use by another event loop")
        # A closed loop's pool cannot be closed any more (that needs its loop): it is dropped, its sockets with it.
        self._pool, self._opening, self._loop = None, None, loop


async def keep_session(_: asyncpg.Connection) -> None:
    """The pool's reset on release, instead of asyncpg's `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL` round trip: pooled connections only ever run one statement outside any transaction (no SET, no
    LISTEN, no advisory lock, no cursor), so there is no session state to undo. asyncpg still rolls back a
    transaction left open and drops listeners before calling this, without a round trip when there is none."""


async def follow_channels(
    place: PostgresPlace,
    channels: Mapping[str, Callable[[str], None]],
    listening: Callable[[], None],
    lost: Callable[[], None],
) -> None:
    """LISTEN to `channels` (each with its payload's handler) on a connection of its own until cancelled:
    `listening()` once it listens, `lost()` when the connection breaks; it reconnects."""
    while True:
        try:
            connection = await asyncpg.connect(**connect_kwargs(place))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            logger.warning("cannot LISTEN (polling meanwhile): %s", error)
            await asyncio.sleep(RECONNECT_SECONDS)
            continue
        try:
            connection.add_termination_listener(lambda _: lost())  # at once, not at the next ping
            for channel, handler in channels.items():
                await connection.add_listener(channel, _payload_to(handler))
            listening()
            while True:
                await asyncio.sleep(PING_SECONDS)
                await asyncio.wait_for(connection.execute("SELECT 1"), PING_SECONDS)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            logger.warning("LISTEN connection lost (polling meanwhile): %s", error)
        finally:
            lost()
            connection.terminate()
        await asyncio.sleep(RECONNECT_SECONDS)


def log_follower(place: PostgresPlace) -> LogFollower:
    """Follows the event log `place` names (the library NOTIFYs its channel on every insert)."""

    async def follow(heard: Callable[[], None], listening: Callable[[], None], lost: Callable[[], None]) -> None:
        await follow_channels(place, {place.ledger_channel: lambda _: heard()}, listening, lost)

    return follow


def _payload_to(handler: Callable[[str], None]) -> Callable[[object, int, str, str], None]:
    def on_notification(_: object, __: int, ___: str, payload: str) -> None:
        handler(payload)

    return on_notification


def connect_kwargs(place: PostgresPlace) -> dict[str, Any]:
    given = dict(place.connection)
    return {
        "host": given.get("host"),
        "port": int(given.get("port") or 5432),
        "user": given.get("user"),
        "password": given.get("password") or None,
        "database": given.get("dbname"),
    }
