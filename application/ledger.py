"""The event-sourced write model: payments, wallets and their uniqueness records."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain, groupby
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    ProjectorFunction,
    Repository,
    project_aggregate,
)
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate
from eventsourcing.persistence import JSONTranscoder, Notification, Recording, StoredEvent
from eventsourcing.utils import EnvType

from application.errors import ConcurrentChange
from application.lookups import Lookups
from application.ports import BatchedLoads, ExclusiveWrites
from application.store_errors import store_errors
from application.transcodings import SNAPSHOT_TRANSCODINGS
from application.write_mark import WriteMark
from domain.checkpoint import LedgerCheckpoint
from domain.indexes import IdempotencyRecord
from domain.payment import Payment
from domain.wallet import Wallet

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)

logger = logging.getLogger("mcpay.ledger")

STORE = "event store"
SAVE_ATTEMPTS = 8
RETRY_BACKOFF_SECONDS = 0.001  # before the n-th retry, a pause drawn from [0, n times this): writers fall out of step
# A snapshot is taken by the save that brings a wallet or a payment to a multiple of this many events: a load
# then reads the latest snapshot and fewer than this many events after it, however long the history (ADR 40).
SNAPSHOT_INTERVAL = 10


class Ledger(Application[UUID], Lookups):
    """Saves several aggregates atomically; every save is all-or-nothing."""

    name = "Ledger"
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
        Wallet: SNAPSHOT_INTERVAL,
        Payment: SNAPSHOT_INTERVAL,
    }

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        self.written = WriteMark()
        # The index records (claims, links, idempotency records) are never snapshotted: loaded without asking
        # the snapshot table first.
        self._whole_histories = Repository(event_store=self.events)
        # Checked once: a runtime protocol check costs microseconds on every call.
        self._batched = self.recorder if isinstance(self.recorder, BatchedLoads) else None
        self._exclusive = self.recorder if isinstance(self.recorder, ExclusiveWrites) else None
        self._local = threading.local()  # per thread: what waits for the commit of an exclusive transaction
        self._committed: list[Callable[[Sequence[object]], None]] = []

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        for transcoding in SNAPSHOT_TRANSCODINGS:
            transcoder.register(transcoding)

    def take_snapshot(
        self,
        aggregate_id: UUID,
        version: int | None = None,
        projector_func: ProjectorFunction[Any, Any] = project_aggregate,
    ) -> None:
        """A snapshot is taken after its save committed, and only saves loading time: a failure to write one
        never fails the save (the next interval takes one)."""
        try:
            super().take_snapshot(aggregate_id, version, projector_func)
        except Exception as error:
            logger.warning("no snapshot of %s at version %s: %s", aggregate_id, version, type(error).__name__)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """A snapshot at each multiple of a wallet's or payment's interval its new events reach, all in one insert.
        At the version just saved it is taken from the object in hand (the library reads each one back from the
        store first: two queries on the writer's path); at an earlier one, read back. A failure only costs
        loading time."""
        if self.snapshots is None:
            return
        in_hand = []
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate)) if aggregate is not None else None
            if interval is None or event.originator_version % interval:
                continue
            if aggregate is not None and aggregate.version == event.originator_version:
                in_hand.append(aggregate)
            else:
                self.take_snapshot(event.originator_id, event.originator_version)
        try:
            if in_hand:
                self.snapshots.put([self._snapshot_of(aggregate) for aggregate in in_hand])
        except Exception as error:
            for aggregate in in_hand:
                logger.warning(
                    "no snapshot of %s at version %s: %s", aggregate.id, aggregate.version, type(error).__name__
                )

    def _snapshot_of(self, aggregate: Any) -> Any:
        snapshot_class: Any = getattr(type(aggregate), "Snapshot", self.snapshot_class)
        return snapshot_class.take(aggregate)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        if recordings:
            self.written.raise_to(recordings[-1].notification.id)

    def checkpoints(self) -> LedgerCheckpoint | None:
        return self.find(LedgerCheckpoint, LedgerCheckpoint.create_id())

    def idempotency_record(self, user_id: str, key: str) -> IdempotencyRecord | None:
        return self.find(IdempotencyRecord, IdempotencyRecord.create_id(user_id, key))

    def commit(self, *aggregates: Aggregate | None) -> None:
        """All saved, or none: `ConcurrentChange` when another writer saved one of them first.

        The library's `save` in its three steps (record, snapshots, notify), without its runtime protocol checks
        of every object (a twentieth of the writer's time): these are always aggregates."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in aggregates:
            if aggregate is not None:
                processing_event.events.extend(aggregate.collect_events())
                processing_event.aggregates[aggregate.id] = aggregate
        with store_errors(STORE):
            recordings = self._record(processing_event)
        self.after_commit(lambda: self._take_snapshots(processing_event))
        if self._committed:
            self.after_commit(lambda: self._hand_over(list(processing_event.aggregates.values())))
        self.after_commit(lambda: self._notify(recordings))

    def on_committed(self, listener: Callable[[Sequence[object]], None]) -> None:
        """`listener(aggregates)` with what each `commit` saved, once it is committed, on the committing thread and
        before the read side is told the log grew (the projector takes the payments it would read again: ADR 61).
        A listener's failure is logged; it never undoes or fails the commit."""
        self._committed.append(listener)

    def _hand_over(self, aggregates: Sequence[object]) -> None:
        for listener in self._committed:
            try:
                listener(aggregates)
            except Exception:
                logger.exception("a listener to commits failed; the commit stands")

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once what this thread saved is committed: now, or when its exclusive transaction commits
        (snapshots, the read-your-writes mark and metrics must never count what may yet be rolled back)."""
        waiting: list[Callable[[], None]] | None = getattr(self._local, "waiting", None)
        if waiting is None:
            callback()
        else:
            waiting.append(callback)

    @contextmanager
    def exclusively(self) -> Iterator[None]:
        """Within it, this thread's reads and saves are one transaction during which no other process saves, so what
        it decides on them cannot meet a `ConcurrentChange`; what follows a commit runs once it commits. Stores with
        one writer at a time (SQLite, memory) need nothing more than their own locking."""
        if self._exclusive is None:
            yield
            return
        waiting: list[Callable[[], None]] = []
        self._local.waiting = waiting
        try:
            with store_errors(STORE), self._exclusive.exclusively():
                yield
        finally:
            self._local.waiting = None
        for callback in waiting:
            callback()

    @contextmanager
    def on_one_connection(self) -> Iterator[None]:
        """Within it, this thread's reads and saves share one connection of the store's (each its own transaction):
        a unit of work's two or three round trips take it from the pool once."""
        if self._exclusive is None:
            yield
            return
        with store_errors(STORE), self._exclusive.on_one_connection():
            yield

    def head(self) -> int:
        """The log's last position (0: empty)."""
        with store_errors(STORE):
            return self.recorder.max_notification_id() or 0

    def notifications(
        self, after: int, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Sequence[Notification]:
        """The log after a position, in order (of `topics` only, when given)."""
        with store_errors(STORE):
            return self.recorder.select_notifications(
                start=after, limit=limit, stop=stop, topics=topics, inclusive_of_start=False
            )

    def find(self, kind: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate of that kind with that id (None: none, or one of another kind)."""
        repository = self.repository if kind in self.snapshotting_intervals else self._whole_histories
        try:
            with store_errors(STORE):
                aggregate: Any = repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, kind):
            return None
        return aggregate

    def current(self, ids: Sequence[UUID], kept: Mapping[UUID, int]) -> tuple[dict[UUID, int], dict[UUID, Aggregate]]:
        """Each recorded aggregate's current version (ids without events left out) and, loaded from its latest
        snapshot, each one that is not `kept` at that version: in one query where the store can (ADR 54)."""
        if not ids:
            return {}, {}
        with store_errors(STORE):
            if self._batched is None or self.snapshots is None:
                return self._current_one_by_one(ids, kept)
            current = self._batched.select_current(ids, kept, _table_of(self.snapshots.recorder))
        snapshots: dict[Any, StoredEvent] = {stored.originator_id: stored for stored in current.snapshots}
        loaded: dict[UUID, Aggregate] = {}
        for aggregate_id, events in groupby(current.events, key=lambda stored: stored.originator_id):
            loaded[aggregate_id] = self._projected(snapshots.pop(aggregate_id, None), events)
        for aggregate_id, snapshot in snapshots.items():  # nothing recorded since its snapshot
            loaded[aggregate_id] = self._projected(snapshot, ())
        return current.versions, loaded

    def as_at(self, versions: Mapping[UUID, int]) -> dict[UUID, Aggregate]:
        """Each aggregate as its events up to that version left it, from their whole histories (one query where the
        store can): for folds whose aggregates have few events, e.g. the projector's payments."""
        with store_errors(STORE):
            if self._batched is None:
                return {i: found for i, version in versions.items() if (found := self._at(i, version)) is not None}
            histories = self._batched.select_histories(list(versions))
        return {
            aggregate_id: self._projected(None, (e for e in events if e.originator_version <= versions[aggregate_id]))
            for aggregate_id, events in groupby(histories, key=lambda stored: stored.originator_id)
        }

    def _current_one_by_one(
        self, ids: Sequence[UUID], kept: Mapping[UUID, int]
    ) -> tuple[dict[UUID, int], dict[UUID, Aggregate]]:
        found = {aggregate_id: self.recorder.select_events(aggregate_id, desc=True, limit=1) for aggregate_id in ids}
        versions = {aggregate_id: events[0].originator_version for aggregate_id, events in found.items() if events}
        stale = [aggregate_id for aggregate_id, version in versions.items() if kept.get(aggregate_id) != version]
        return versions, {i: loaded for i in stale if (loaded := self._latest(i)) is not None}

    def _projected(self, snapshot: StoredEvent | None, events: Iterable[StoredEvent]) -> Aggregate:
        """The library's `project_aggregate` without its per-event protocol check (a tenth of a load's time)."""
        aggregate: Any = None
        for stored in chain(() if snapshot is None else (snapshot,), events):
            event: Any = self.mapper.to_domain_event(stored)
            aggregate = event.mutate(aggregate)
        return cast(Aggregate, aggregate)

    def _at(self, aggregate_id: UUID, version: int) -> Aggregate | None:
        try:
            return cast(Aggregate, self.repository.get(aggregate_id, version=version))
        except AggregateNotFoundError:
            return None

    def _latest(self, aggregate_id: UUID) -> Aggregate | None:
        try:
            return cast(Aggregate, self.repository.get(aggregate_id))
        except AggregateNotFoundError:
            return None


def _table_of(recorder: Any) -> str:
    table: str = recorder.events_table_name
    return table


def retry_on_conflict(attempt: Callable[[], T]) -> T:
    """Run a load-decide-save attempt again when a concurrent writer got there first; `ConcurrentChange` when
    every attempt met one."""
    for tries in range(1, SAVE_ATTEMPTS):
        try:
            return attempt()
        except ConcurrentChange:
            time.sleep(random.uniform(0, RETRY_BACKOFF_SECONDS * tries))  # noqa: S311 (apart from the other writer)
            continue
    try:
        return attempt()
    except ConcurrentChange as error:
        raise ConcurrentChange(
            "another change to the same payment or wallet was saved first, every retry too: try again"
        ) from error
