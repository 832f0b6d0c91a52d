"""Choosing the event store from DATABASE_URL: SQLite (embedded), PostgreSQL, or memory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
from eventsourcing.persistence import AggregateRecorder, ApplicationRecorder
from eventsourcing.postgres import ConnectionPool, PostgresFactory
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteFactory
from eventsourcing.utils import Environment, EnvType
from psycopg.rows import DictRow

from adapters.append import PostgresAppendRecorder
from adapters.wallet_moves import SqliteWalletMovesRecorder

SCHEMA_LOCK = int.from_bytes(b"mcpayddl")  # a PostgreSQL advisory lock key: 8 bytes, a positive bigint
REFUSED_WAIT_SECONDS = 0.2  # how long a request waits for a connection while PostgreSQL refuses them
RECONNECT_TIMEOUT_SECONDS = 3.0  # a failed connection is retried with backoff this long, then on demand


R = TypeVar("R")


class NamedTablesSQLiteFactory(SQLiteFactory):
    """SQLite recorders whose tables are named after the application, as on PostgreSQL (`ledger_events`, and
    `ledger_snapshots` for the snapshots, which have no place in the notification log)."""

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder = SQLiteAggregateRecorder(
            datastore=self.datastore, events_table_name=f"{self.env.name.lower()}_{purpose}"
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def application_recorder(self) -> ApplicationRecorder:
        recorder = SqliteWalletMovesRecorder(
            datastore=self.datastore, events_table_name=f"{self.env.name.lower()}_events"
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder


class FailFastPool(ConnectionPool[psycopg.Connection[DictRow]]):
    """The library's pool, except that while PostgreSQL refuses connections a request gives up at once.

    The library retries each statement ten times; waiting out the pool timeout (5 s) on every attempt
    would hold a request for a minute before its 503. The next connection made clears the flag.
    """

    refused = False

    def getconn(self, timeout: float | None = None) -> psycopg.Connection[DictRow]:
        if self.refused:
            timeout = min(timeout or self.timeout, REFUSED_WAIT_SECONDS)
        return super().getconn(timeout)

    def _connect(self, timeout: float | None = None) -> psycopg.Connection[DictRow]:
        try:
            connection = super()._connect(timeout)
        except psycopg.OperationalError:
            self.refused = True
            raise
        self.refused = False
        return connection


class SerializedPostgresFactory(PostgresFactory):
    """PostgreSQL recorders whose tables are created by one process at a time.

    The library re-runs `CREATE OR REPLACE FUNCTION` at every start; processes starting together
    then fail with "tuple concurrently updated".
    """

    application_recorder_class = PostgresAppendRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        # The library builds its pool itself and takes no pool class: make the one it built fail fast, and
        # retry a lost connection within seconds rather than backing off for minutes, so it recovers alone.
        pool = self.datastore.pool
        pool.__class__ = FailFastPool
        pool.reconnect_timeout = RECONNECT_TIMEOUT_SECONDS

    def application_recorder(self) -> ApplicationRecorder:
        return self._one_at_a_time(super().application_recorder)

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        return self._one_at_a_time(lambda: super(SerializedPostgresFactory, self).aggregate_recorder(purpose))

    def _one_at_a_time(self, create: Callable[[], R]) -> R:
        with self.datastore.get_connection() as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            try:
                return create()
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


class UnsupportedDatabaseUrl(ValueError):
    pass


def sqlite_path(database_url: str) -> str | None:
    """The SQLite database a `sqlite:` URL names (":memory:" included); None for other URLs."""
    parts = urlsplit(database_url)
    if parts.scheme != "sqlite":
        return None
    path = unquote(parts.path.removeprefix("/")) if parts.netloc == "" else unquote(parts.netloc + parts.path)
    if not path:
        raise UnsupportedDatabaseUrl("DATABASE_URL sqlite:/// needs a file path")
    return path


def sqlite_file(database_url: str) -> str | None:
    """The file a `sqlite:` URL keeps its database in; None for an in-memory database or another store."""
    path = sqlite_path(database_url)
    return None if path == ":memory:" else path


def persistence_env(database_url: str) -> dict[str, str]:
    """The eventsourcing settings for a database URL (`memory:` keeps events in this process)."""
    parts = urlsplit(database_url)
    if parts.scheme == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    path = sqlite_path(database_url)
    if path is not None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": f"{__name__}:NamedTablesSQLiteFactory",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    if parts.scheme in ("postgres", "postgresql"):
        schema = parse_qs(parts.query).get("schema", [""])[0]
        return {
            "POSTGRES_SCHEMA": schema,
            "PERSISTENCE_MODULE": f"{__name__}:SerializedPostgresFactory",
            "POSTGRES_DBNAME": unquote(parts.path.removeprefix("/")) or "postgres",
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": "5",
            # Connections kept open per application (two per process: ledger and identity), growing to
            # 20 under load: several API processes must fit in PostgreSQL's default 100 connections.
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": "18",
            # An append waits this long for the events table's lock, then lets its pooled connection go and
            # tries again (the recorder's retry): a writer holding the lock for a group (ADR 56) can always have a
            # connection, and no append waits without end.
            "POSTGRES_LOCK_TIMEOUT": "5",
        }
    raise UnsupportedDatabaseUrl(f"DATABASE_URL scheme {parts.scheme!r} is not sqlite, postgresql or memory")
