"""Our append (one server-side function call per save, ADR 45) against the eventsourcing library's own recorder tests.

The library ships the contract every application recorder must meet (`eventsourcing.tests.persistence`): inserts
and selects, notification ids without gaps, concurrent writers that never interleave their ids. The same cases
run here against `PostgresAppendRecorder`, in a schema of their own, beside what our function adds.
"""

from __future__ import annotations

import os
import uuid
from unittest import TestCase
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.tests.persistence import ApplicationRecorderTestCase, NonInterleavingNotificationIDsBaseCase

from adapters.append import PostgresAppendRecorder
from adapters.persistence import persistence_env
from application.ledger import Ledger
from domain.wallet import Wallet
from tests.conftest import POSTGRES_SKIP_REASON

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


class InOwnSchema:
    """A fresh schema for each test (dropped afterwards), and our recorder on it."""

    schema = ""
    table = ""
    datastore: PostgresDatastore | None = None

    def setUp(self) -> None:
        server = os.environ.get("TEST_DATABASE_URL")
        if not server:
            pytest.skip(POSTGRES_SKIP_REASON)
        self.server = server
        self.schema = f"test_{uuid.uuid4().hex[:12]}"
        self.table = f"events_{uuid.uuid4().hex[:8]}"  # NOTIFY channels are the database's: one of this test's own
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{self.schema}"')

    def tearDown(self) -> None:
        if self.datastore is not None:
            self.datastore.close()
        with psycopg.connect(self.server, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{self.schema}" CASCADE')

    def create_recorder(self) -> PostgresAppendRecorder:
        env = persistence_env(self.server)
        self.datastore = PostgresDatastore(
            env["POSTGRES_DBNAME"],
            env["POSTGRES_HOST"],
            env["POSTGRES_PORT"],
            env["POSTGRES_USER"],
            env["POSTGRES_PASSWORD"],
            pool_size=4,
            max_overflow=12,
            schema=self.schema,
        )
        recorder = PostgresAppendRecorder(self.datastore, events_table_name=self.table)
        recorder.create_table()
        return recorder


class TestLibraryContract(InOwnSchema, ApplicationRecorderTestCase[PostgresAppendRecorder]):
    """Every case of the library's application recorder contract."""


class TestLibraryNonInterleaving(InOwnSchema, NonInterleavingNotificationIDsBaseCase):
    """Two concurrent appends of 1,000 events each: one's notification ids all before the other's."""


class TestOurAppend(InOwnSchema, TestCase):
    def test_a_failing_append_records_none_of_its_events(self) -> None:
        recorder = self.create_recorder()
        existing = StoredEvent(uuid.uuid4(), 1, "topic", b"{}")
        recorder.insert_events([existing])
        fresh = [StoredEvent(uuid.uuid4(), 1, "topic", b"{}"), StoredEvent(uuid.uuid4(), 1, "topic", b"{}")]
        with pytest.raises(IntegrityError):
            recorder.insert_events([*fresh, existing])
        assert [recorder.select_events(event.originator_id) for event in fresh] == [[], []]
        assert recorder.max_notification_id() == 1
        recorder.insert_events(fresh)
        recorded = recorder.select_notifications(start=None, limit=10)
        assert [n.originator_id for n in recorded] == [event.originator_id for event in (existing, *fresh)]
        assert recorded[2].id == recorded[1].id + 1 > 2  # the failed append's ids are skipped, never reused

    def test_it_takes_the_table_lock_and_notifies_once(self) -> None:
        recorder = self.create_recorder()
        with psycopg.connect(self.server, autocommit=True) as connection:
            connection.execute(f'SET search_path TO "{self.schema}"')
            function = connection.execute(
                "SELECT prosrc FROM pg_proc WHERE proname = %s", (f"mcpay_append_{self.table}",)
            ).fetchone()
            connection.execute(f'LISTEN "{self.table}"')
            recorder.insert_events([StoredEvent(uuid.uuid4(), version, "topic", b"{}") for version in (1, 2, 3)])
            notified = list(connection.notifies(timeout=1, stop_after=2))
        assert function is not None
        assert "LOCK TABLE" in function[0] and "IN EXCLUSIVE MODE" in function[0]
        assert [notify.channel for notify in notified] == [self.table]

    def test_a_held_table_lock_times_out_the_append(self) -> None:
        recorder = self.create_recorder()
        assert self.datastore is not None
        self.datastore.lock_timeout = 1
        recorder = PostgresAppendRecorder(self.datastore, events_table_name=self.table)
        recorder.create_table()
        with psycopg.connect(self.server) as holder:
            holder.execute(f'LOCK TABLE "{self.schema}"."{self.table}" IN EXCLUSIVE MODE')
            with pytest.raises(OperationalError, match="lock timeout"):  # once: not the retrying wrapper
                recorder.insert_events.__wrapped__(recorder, [StoredEvent(uuid.uuid4(), 1, "topic", b"{}")])
        assert recorder.max_notification_id() is None


def test_the_ledgers_saves_go_through_the_function(postgres_url: str) -> None:
    ledger = Ledger(env=persistence_env(postgres_url))
    try:
        ledger.save(Wallet(user_id="a" * 64))
        schema = parse_qs(urlsplit(postgres_url).query)["schema"][0]
        with psycopg.connect(postgres_url.split("?", 1)[0], autocommit=True) as connection:
            connection.execute(f'DROP FUNCTION "{schema}".mcpay_append_ledger_events')
        with pytest.raises(ProgrammingError, match="mcpay_append_ledger_events"):
            ledger.save(Wallet(user_id="b" * 64))
    finally:
        ledger.close()
