"""Projection tables on PostgreSQL, written with psycopg through the library's tracking recorder."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from eventsourcing.persistence import ApplicationRecorder, Tracking
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore, PostgresTrackingRecorder
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed

from adapters.read_side import schema_version, sql
from adapters.read_side.postgres_rows import columns, statement_for_rows
from adapters.read_side.reads import ProjectionReads
from application.projection import ProjectedBatch

logger = logging.getLogger("mcpay.read_side")

TRACKING_TABLE = "read_tracking"
DDL_LOCK = int.from_bytes(b"mcpayrdm")  # serializes CREATE TABLE IF NOT EXISTS across processes starting at once
TYPES = {"uuid": "uuid", "numeric": "numeric", "boolean": "boolean", "timestamp": "timestamptz"}
VALUES = sql.PostgresValues()


@dataclass(frozen=True)
class PostgresPlace:
    """Where the ledger lives on PostgreSQL, and the names the read side derives from it."""

    connection: Mapping[str, Any]  # host, port, user, password, dbname
    schema: str
    events_table: str
    ledger_channel: str  # the library NOTIFYs this channel on every insert into the events table
    application_name: str

    @classmethod
    def of(cls, recorder: ApplicationRecorder, application_name: str) -> PostgresPlace:
        if not isinstance(recorder, PostgresApplicationRecorder):
            raise TypeError(f"a PostgreSQL read side needs a PostgreSQL event store, not {type(recorder).__name__}")
        datastore = recorder.datastore
        kwargs = datastore.pool.kwargs
        given: dict[str, Any] = dict((kwargs() if callable(kwargs) else kwargs) or {})
        keys = ("host", "port", "user", "password", "dbname")
        connection: dict[str, Any] = {key: given[key] for key in keys if key in given}
        return cls(connection, datastore.schema, recorder.events_table_name, recorder.channel_name, application_name)

    @property
    def prefix(self) -> str:
        return '"' + self.schema.replace('"', '""') + '".'

    @property
    def read_channel(self) -> str:
        """NOTIFYed with the new position when a projection batch commits (one channel per schema)."""
        return f"mcpay_read_{self.schema}"[:63]

    @property
    def lease_key(self) -> int:
        return self.key_for("read-side")

    def key_for(self, duty: str) -> int:
        """The advisory-lock key of a duty done once per deployment (one schema: one deployment)."""
        digest = hashlib.sha256(f"mcpay:{duty}:{self.schema}".encode()).digest()
        return int.from_bytes(digest[:8], signed=True)


class PostgresReadModel(ProjectionReads, PostgresTrackingRecorder):
    """The payments, wallets and credit movements tables, beside the library's tracking table for them."""

    values = VALUES

    def __init__(self, datastore: PostgresDatastore, place: PostgresPlace) -> None:
        super().__init__(datastore, tracking_table_name=TRACKING_TABLE)
        self.place = place
        self.sql_create_statements.extend(Composed([SQL(statement)]) for statement in sql.ddl(place.prefix, TYPES))

    @classmethod
    def beside(cls, recorder: ApplicationRecorder, application_name: str) -> PostgresReadModel:
        """The read model in the ledger's schema, through the ledger's connection pool, its tables created."""
        place = PostgresPlace.of(recorder, application_name)
        model = cls(cast(PostgresApplicationRecorder, recorder).datastore, place)  # PostgresPlace.of checked it
        model.create_table()
        return model

    def create_table(self) -> None:
        with self.datastore.get_connection() as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", (DDL_LOCK,))
            try:
                with self.datastore.transaction(commit=True) as cursor:
                    cursor.execute(
                        "SELECT to_regclass(%s) IS NOT NULL AS present", (f"{self.place.prefix}read_payments",)
                    )
                    present = cursor.fetchone()
                    exists = bool(present and present["present"])
                    schema_version.prepare(cursor, self.place.prefix, "pyformat", exists, TRACKING_TABLE)
                super().create_table()
                with self.datastore.transaction(commit=True) as cursor:
                    schema_version.record(cursor, self.place.prefix, "pyformat")
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", (DDL_LOCK,))

    def position(self) -> int:
        return self.max_tracking_id(self.place.application_name) or 0

    def apply(self, batch: ProjectedBatch) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            self._write(cursor, batch)
            self._insert_tracking(cursor, Tracking(self.place.application_name, batch.end))
            self._announce(cursor, batch.end)

    def rebuild(self, batches: Iterable[ProjectedBatch]) -> None:
        # DELETE, not TRUNCATE: readers keep seeing the old rows until the rebuilt ones commit.
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 0")  # reading the log between writes
            for table in sql.TABLES:
                cursor.execute(f"DELETE FROM {self.place.prefix}{table}")
            cursor.execute(
                f"DELETE FROM {self.place.prefix}{TRACKING_TABLE} WHERE application_name = %s",
                (self.place.application_name,),
            )
            end = 0
            for batch in batches:
                self._write(cursor, batch)
                end = batch.end
            if end:
                self._insert_tracking(cursor, Tracking(self.place.application_name, end))
            self._announce(cursor, end)

    def wait_for(self, position: int, timeout: float) -> bool:
        if position <= self.position():  # the library's wait() never returns for position 0 with no tracking row
            return True
        try:
            self.wait(self.place.application_name, position, timeout=timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        """The datastore is the ledger's: it closes with the ledger."""

    def _write(self, cursor: psycopg.Cursor[DictRow], batch: ProjectedBatch) -> None:
        """One statement a table for the whole batch, sent together (ADR 54)."""
        with cursor.connection.pipeline():
            for statement, rows in sql.batch_statements(batch, VALUES):
                cursor.execute(statement_for_rows(statement, self.place.prefix), columns(rows))

    def _announce(self, cursor: psycopg.Cursor[DictRow], position: int) -> None:
        cursor.execute("SELECT pg_notify(%s, %s)", (self.place.read_channel, str(position)))

    def _rows(self, statement: str, params: Sequence[Any]) -> list[Mapping[str, Any]]:
        with self.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(sql.render(statement, self.place.prefix, "pyformat"), sql.named(params))
            return list(cursor.fetchall())


class AdvisoryLease:
    """`pg_try_advisory_lock` on a connection of its own: one process projects; if it dies, PostgreSQL lets go."""

    def __init__(
        self,
        place: PostgresPlace,
        retry_seconds: float = 1.0,
        check_seconds: float = 5.0,
        *,
        duty: str = "projections",
        key: int | None = None,
    ) -> None:
        self.place = place
        self.duty = duty
        self.key = place.lease_key if key is None else key
        self._retry = retry_seconds
        self._check = check_seconds
        self._connection: psycopg.Connection[Any] | None = None
        self._held = False
        self._tried = self._checked = -float("inf")
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._held:
                if now - self._checked < self._check:
                    return True
                self._checked = now
                if self._alive():
                    return True
            if now - self._tried < self._retry:
                return False
            self._tried = now
            self._held = self._try()
            self._checked = now
            return self._held

    def release(self) -> None:
        with self._lock:
            self._drop()

    def _try(self) -> bool:
        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(
                    **self.place.connection,
                    autocommit=True,
                    connect_timeout=5,
                    application_name=f"mcpay {self.duty} (pid {os.getpid()})",  # who holds it, in pg_stat_activity
                )
            row = self._connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except psycopg.Error as error:
            logger.warning("%s lease: %s", self.duty, error)
            self._drop()
            return False
        taken = bool(row and row[0])
        if taken:
            logger.info("this process now runs the %s", self.duty)
        return taken

    def _alive(self) -> bool:
        try:
            if self._connection is not None:
                self._connection.execute("SELECT 1")
                return True
        except psycopg.Error:
            logger.warning("%s lease lost with its connection", self.duty)
        self._drop()
        return False

    def _drop(self) -> None:
        self._held = False
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None
