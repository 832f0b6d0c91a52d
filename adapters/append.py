"""The ledger's append on PostgreSQL: one call of a server-side function per save, the table lock held inside it.

The library's insert takes the EXCLUSIVE lock on the events table (so that notification ids commit in id
order, which the position-tracking projections rely on), then inserts, then waits for the client's COMMIT:
the lock is held across a round trip to the client and back. `mcpay_append_<table>` does the same steps
in the same table and format (`SET LOCAL lock_timeout`, the lock, one NOTIFY, the multi-row insert from four
arrays) in one
autocommit statement, so its transaction ends, lock released, before the answer leaves the server. The
library's own `POSTGRES_ENABLE_DB_FUNCTIONS` function takes no table lock and is never used (ADR 45).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from adapters.batched_loads import PostgresBatchedLoads
from adapters.pg_arrays import bytea_array, int_array, text_array, uuid_array
from adapters.wallet_moves import PostgresWalletMovesRecorder


class PostgresAppendRecorder(PostgresBatchedLoads, PostgresWalletMovesRecorder):
    """The library's application recorder whose inserts go through one function call holding the table lock."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema, table = Identifier(datastore.schema), Identifier(events_table_name)
        function = Identifier(f"mcpay_append_{events_table_name}")
        # The first form of the function took an array of the library's composite type: it stays beside this one
        # (PostgreSQL tells them apart by their arguments) for processes of an older release still running.
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}"
                "(ids uuid[], versions bigint[], topics text[], states bytea[]) "
                "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
                "BEGIN "
                "SET LOCAL lock_timeout = '{lock_timeout}s'; "
                "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "NOTIFY {channel}; "
                "RETURN QUERY INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
                "SELECT * FROM unnest(ids, versions, topics, states) "
                "RETURNING notification_id; "
                "END; $BODY$"
            ).format(
                schema=schema,
                function=function,
                lock_timeout=datastore.lock_timeout,
                table=table,
                channel=Identifier(self.channel_name),
            )
        )
        self._held = threading.local()
        self._lock_timeout = f"SET LOCAL lock_timeout = '{datastore.lock_timeout}s'"
        self._lock = SQL("LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE").format(schema=schema, table=table).as_string()
        self._append = (
            SQL("SELECT {schema}.{function}(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[]) AS notification_id")
            .format(schema=schema, function=function)
            .as_string()
        )

    @contextmanager
    def exclusively(self) -> Iterator[None]:
        """This thread's reads and appends in one transaction that holds the table's EXCLUSIVE lock from its start:
        no other writer appends until it commits, so what is decided on its reads cannot conflict (ADR 55)."""
        assert self._held is not None  # noqa: S101 (made in __init__)
        if getattr(self._held, "connection", None) is not None:
            raise RuntimeError("exclusively() does not nest, nor starts within on_one_connection()")
        with self.datastore.get_connection() as connection, connection.transaction():
            connection.execute(self._lock_timeout)
            connection.execute(self._lock)
            self._held.connection = connection
            try:
                yield
            finally:
                self._held.connection = None

    @contextmanager
    def on_one_connection(self) -> Iterator[None]:
        """This thread's reads and appends on one connection taken from the pool once (a pool's checkout and
        return cost as much as a statement), each statement still its own transaction; within `exclusively`,
        on its connection."""
        assert self._held is not None  # noqa: S101 (made in __init__)
        if getattr(self._held, "connection", None) is not None:
            yield
            return
        with self.datastore.get_connection() as connection:
            self._held.connection, self._held.replaceable = connection, True
            try:
                yield
            finally:
                self._held.connection, self._held.replaceable = None, False

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """The events' notification ids, in order, once their transaction has committed (autocommit: the
        function's statement is the transaction); IntegrityError when one of them was recorded already."""
        if any(value is not None for value in kwargs.values()) or not stored_events:  # a process application's
            # tracking records (the library always passes `tracking`, None for an application like ours)
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return ids
        columns = (
            uuid_array(event.originator_id for event in stored_events),
            int_array(event.originator_version for event in stored_events),
            text_array(event.topic for event in stored_events),
            bytea_array(event.state for event in stored_events),
        )
        with self._connection() as connection, connection.cursor(row_factory=tuple_row) as cursor:
            assert connection.autocommit  # noqa: S101 (the pool's: one statement, one transaction, unless `exclusively`)
            cursor.execute(self._append, columns, prepare=True)
            return [int(notification_id) for (notification_id,) in cursor.fetchall()]
