"""Reading many aggregates of the events table at once: their versions, and their latest snapshot and later events.

Same table and format as the library's reads (one aggregate per query there); each of these is one query with
`= ANY` over the ids, whatever their number (a prepared `unnest ... LATERAL` cost PostgreSQL far more, issue 13).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from application.ports import Latest


class PostgresBatchedLoads:
    """Mixed into the library's PostgreSQL application recorder (which supplies the datastore and table)."""

    datastore: PostgresDatastore
    events_table_name: str

    def max_versions(self, ids: Sequence[UUID]) -> dict[UUID, int]:
        statement = SQL(
            "SELECT originator_id, max(originator_version) FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s) GROUP BY originator_id"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as connection, connection.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(statement, (list(ids),))
            return {originator_id: version for originator_id, version in cursor.fetchall()}

    def select_latest(self, ids: Sequence[UUID], snapshots_table: str) -> Latest:
        """Each aggregate's latest snapshot (if any) in `snapshots_table`, and its events after it, in version order."""
        statement = SQL(
            "WITH s AS (SELECT DISTINCT ON (originator_id) originator_id, originator_version, topic, state "
            "FROM {schema}.{snapshots} WHERE originator_id = ANY(%(ids)s) "
            "ORDER BY originator_id, originator_version DESC) "
            "SELECT true, originator_id, originator_version, topic, state FROM s "
            "UNION ALL "
            "SELECT false, e.originator_id, e.originator_version, e.topic, e.state FROM {schema}.{table} e "
            "LEFT JOIN s ON s.originator_id = e.originator_id "
            "WHERE e.originator_id = ANY(%(ids)s) AND e.originator_version > coalesce(s.originator_version, 0) "
            "ORDER BY 2, 1 DESC, 3"
        ).format(
            schema=Identifier(self.datastore.schema),
            snapshots=Identifier(snapshots_table),
            table=Identifier(self.events_table_name),
        )
        latest: Latest = Latest(snapshots=[], events=[])
        with self.datastore.get_connection() as connection, connection.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(statement, {"ids": list(ids)})
            for is_snapshot, originator_id, version, topic, state in cursor.fetchall():
                stored = StoredEvent(originator_id, version, topic, bytes(state))
                (latest.snapshots if is_snapshot else latest.events).append(stored)
        return latest
