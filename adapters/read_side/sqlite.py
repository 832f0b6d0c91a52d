"""Projection tables on SQLite (the embedded default), read off the event loop in worker threads."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID, uuid4

import anyio
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore, SQLiteTrackingRecorder

from adapters.read_side import schema_version, sql
from adapters.read_side.reads import ProjectionReads
from application.paging import Listed, PageQuery, PaymentKey
from application.projection import ProjectedBatch
from application.queries import BalanceView, PaymentListing
from application.views import PaymentView, WalletEntry, WalletView

TYPES = {"uuid": "text", "numeric": "text", "boolean": "integer", "timestamp": "text"}
LOCK_TIMEOUT_SECONDS = 10


def sqlite_datastore(ledger_path: str | None) -> SQLiteDatastore:
    """The ledger's own file; a private in-memory database when the ledger has no file."""
    if ledger_path and ":memory:" not in ledger_path and "mode=memory" not in ledger_path:
        return SQLiteDatastore(ledger_path, lock_timeout=LOCK_TIMEOUT_SECONDS)
    return SQLiteDatastore(f"file:mcpay-read-{uuid4().hex}?mode=memory&cache=shared", lock_timeout=LOCK_TIMEOUT_SECONDS)


class SqliteReadModel(ProjectionReads, SQLiteTrackingRecorder):
    """The projection tables, and the library's tracking recorder on a table of their own (`read_tracking`)."""

    values = sql.SqliteValues()

    def __init__(self, datastore: SQLiteDatastore, application_name: str) -> None:
        super().__init__(datastore)
        self._application = application_name
        self.insert_tracking_statement = (
            "INSERT INTO read_tracking VALUES (:application_name, :notification_id) "
            "ON CONFLICT (application_name) DO UPDATE SET notification_id = :notification_id "
            "WHERE read_tracking.notification_id < :notification_id RETURNING notification_id"
        )
        self.select_max_tracking_id_statement = (
            "SELECT MAX(notification_id) FROM read_tracking WHERE application_name=?"
        )

    def construct_create_table_statements(self) -> list[str]:
        tracking = (
            "CREATE TABLE IF NOT EXISTS read_tracking (application_name TEXT, notification_id INTEGER, "
            "PRIMARY KEY (application_name)) WITHOUT ROWID"
        )
        return [tracking, *sql.ddl("", TYPES)]

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                "SELECT count(*) AS present FROM sqlite_master WHERE type = 'table' AND name = 'read_payments'"
            )
            exists = bool(cursor.fetchone()["present"])
            schema_version.prepare(cursor, "", "named", exists, "read_tracking")
        super().create_table()
        with self.datastore.transaction(commit=True) as cursor:
            schema_version.record(cursor, "", "named")

    def position(self) -> int:
        return self.max_tracking_id(self._application) or 0

    def apply(self, batch: ProjectedBatch) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            self._write(cursor, batch)
            self._insert_tracking(cursor, Tracking(self._application, batch.end))

    def rebuild(self, batches: Iterable[ProjectedBatch]) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            for table in sql.TABLES:
                cursor.execute(f"DELETE FROM {table}")
            cursor.execute("DELETE FROM read_tracking WHERE application_name = ?", (self._application,))
            end = 0
            for batch in batches:
                self._write(cursor, batch)
                end = batch.end
            if end:
                self._insert_tracking(cursor, Tracking(self._application, end))

    def wait_for(self, position: int, timeout: float) -> bool:
        if position <= self.position():  # the library's wait() never returns for position 0 with no tracking row
            return True
        try:
            self.wait(self._application, position, timeout=timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.datastore.close()

    def _write(self, cursor: SQLiteCursor, batch: ProjectedBatch) -> None:
        for statement, rows in sql.batch_statements(batch, self.values):
            cursor.executemany(sql.render(statement, "", "named"), [sql.named(row) for row in rows])

    def _rows(self, statement: str, params: Sequence[Any]) -> list[Mapping[str, Any]]:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(sql.render(statement, "", "named"), sql.named(params))
            rows: list[Mapping[str, Any]] = cursor.fetchall()
            return rows


class SqliteQueries:
    """The async read-side port over `SqliteReadModel`: each read runs in a worker thread."""

    def __init__(self, model: SqliteReadModel, head: Callable[[], int | None]) -> None:
        self._model = model
        self._head = head

    async def payments_of(self, user_id: str) -> list[PaymentView]:
        return await anyio.to_thread.run_sync(self._model.payments_of, user_id)

    async def payment(self, payment_id: UUID) -> PaymentView | None:
        return await anyio.to_thread.run_sync(self._model.payment, payment_id)

    async def payment_page(self, listing: PaymentListing, query: PageQuery[PaymentKey]) -> list[Listed[PaymentView]]:
        return await anyio.to_thread.run_sync(self._model.payment_page, listing, query)

    async def entry_page(self, user_id: str, query: PageQuery[int]) -> list[Listed[WalletEntry]]:
        return await anyio.to_thread.run_sync(self._model.entry_page, user_id, query)

    async def awaiting_admin(self) -> dict[str, int]:
        return await anyio.to_thread.run_sync(self._model.awaiting_admin)

    async def wallet_of(self, user_id: str) -> WalletView:
        return await anyio.to_thread.run_sync(self._model.wallet_of, user_id)

    async def balance_of(self, user_id: str) -> BalanceView:
        return await anyio.to_thread.run_sync(self._model.balance_of, user_id)

    async def balances(self, after_user: str = "", limit: int = 1000) -> list[BalanceView]:
        return await anyio.to_thread.run_sync(self._model.balances, after_user, limit)

    async def position(self) -> int:
        return await anyio.to_thread.run_sync(self._model.position)

    async def head(self) -> int:
        return await anyio.to_thread.run_sync(self._head) or 0

    async def listen(
        self, projected: Callable[[int], None], written: Callable[[], None], hearing: Callable[[bool], None]
    ) -> None:
        """Nothing to listen to: this process projects its own writes (so it hears every advance it makes), and
        polling finds any other's."""
        hearing(True)

    async def close(self) -> None:
        """The tables close with the services (`SqliteReadModel.close`)."""


class LocalLease:
    """The embedded store has one API process; a CLI projecting meanwhile is kept out by the tracking row."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        """Nothing is held."""
