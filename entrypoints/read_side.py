"""The composition root's read-side part: projection tables chosen from DATABASE_URL."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder

from adapters.persistence import persistence_env
from adapters.read_side.asyncpg_queries import AsyncpgQueries, log_follower
from adapters.read_side.postgres import AdvisoryLease, PostgresPlace, PostgresReadModel
from adapters.read_side.sqlite import LocalLease, SqliteQueries, SqliteReadModel, sqlite_datastore
from application.ledger import Ledger
from application.ports import Metrics, PaymentQueries
from application.projection import CaughtUpPaymentQueries, Lease, Projector
from application.queries import AsyncReadModel
from application.reading import ReadSide
from application.revocations import LogFollower
from application.spending import CaughtUpSpends, SpendQueries

CATCH_UP_SECONDS = 2.0  # how long a use case waits for the read model before reading it as it is


@dataclass(frozen=True)
class ReadSideParts:
    read_side: ReadSide
    queries: PaymentQueries  # for the synchronous use cases: caught up before each answer
    background_lease: Lease  # held by the one process of the deployment that runs reconciliation and checkpoints
    spends: SpendQueries  # caught up like `queries`


def build_read_side(database_url: str, ledger: Ledger, metrics: Metrics) -> ReadSideParts:
    """PostgreSQL: psycopg writes, asyncpg reads, an advisory-lock lease. SQLite and memory: SQLite tables."""
    model: AsyncReadModel
    if urlsplit(database_url).scheme in ("postgres", "postgresql"):
        store = PostgresReadModel.beside(ledger.recorder, ledger.name)
        projector = Projector(ledger, store, AdvisoryLease(store.place))
        model = AsyncpgQueries(store.place)
        reads: PaymentQueries = store
        spends: SpendQueries = store
        background: Lease = AdvisoryLease(store.place, duty="background jobs", key=store.place.key_for("background"))
    else:
        embedded = SqliteReadModel(sqlite_datastore(persistence_env(database_url).get("SQLITE_DBNAME")), ledger.name)
        embedded.create_table()
        projector = Projector(ledger, embedded, LocalLease())
        model = SqliteQueries(embedded, ledger.recorder.max_notification_id)
        reads = embedded
        spends = embedded
        background = LocalLease()  # one process per SQLite file (more workers are refused at start)
    read_side = ReadSide(projector, model, ledger.written, metrics)
    caught_up = CaughtUpPaymentQueries(projector, reads, CATCH_UP_SECONDS)
    return ReadSideParts(read_side, caught_up, background, CaughtUpSpends(projector, spends, CATCH_UP_SECONDS))


def log_follower_of(application: Application[UUID]) -> LogFollower | None:
    """How to hear an application's log grow on PostgreSQL, where other processes write it too (None elsewhere:
    the embedded file has one writing process)."""
    if not isinstance(application.recorder, PostgresApplicationRecorder):
        return None
    return log_follower(PostgresPlace.of(application.recorder, application.name))
