"""Group commit: the changes that arrive together (gateway events, spends) are decided in arrival order and saved in
one transaction.

One writer per process, on a thread of its own (the event store is synchronous). It takes everything queued,
decides each one (by its type: `by_kind`) against one unit of work (two events for one payment or wallet see each other), saves the
whole group at once and only then answers each caller. A conflict with another process drops the group, which
is decided again from fresh reads; when that fails too, each event is applied on its own, retried as before.
Exactly-once rests on the same uniqueness records and aggregate versions as a single save (ADR 32). Before
deciding, a group reads what it will need together (`Prepare`), through a cache of aggregates re-checked against
the store's versions on every group (ADR 45).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

from application.aggregate_cache import AggregateCache
from application.errors import ConcurrentChange
from application.ledger import Ledger, retry_on_conflict
from application.metrics import NoMetrics
from application.ports import Metrics
from application.unit_of_work import UnitOfWork

logger = logging.getLogger("mcpay.writer")

GROUP_LIMIT = 256
GROUP_ATTEMPTS = 4  # the whole group, before each event is applied on its own
# Before each new attempt, a pause of up to this many seconds times the attempts so far, drawn at random: two
# processes crediting one wallet otherwise meet again at once, and again (ADR 55).
BACKOFF_SECONDS = 0.002

# What an item does, staged in the unit of work; answers its outcome (a refusal is an outcome, not an exception:
# raising would make the whole group be applied again one item at a time).
Decide = Callable[[UnitOfWork, Any], Any]
Prepare = Callable[[UnitOfWork, Sequence[Any]], None]  # reads ahead what a group's decisions will read


def by_kind(decisions: Mapping[type, Decide]) -> Decide:
    """One writer for every kind of change: each item is decided by the function of its type."""

    def decide(work: UnitOfWork, item: Any) -> Any:
        for kind, decision in decisions.items():
            if isinstance(item, kind):
                return decision(work, item)
        raise TypeError(f"the writer decides no {type(item).__name__}")

    return decide


def prepared_by_kind(preparations: Mapping[type, Prepare]) -> Prepare:
    """Each kind's reads ahead, for the items of that kind in the group."""

    def prepare(work: UnitOfWork, items: Sequence[Any]) -> None:
        for kind, preparation in preparations.items():
            mine = [item for item in items if isinstance(item, kind)]
            if mine:
                preparation(work, mine)

    return prepare


def _nothing_to_prepare(work: UnitOfWork, items: Sequence[Any]) -> None:
    """Every read made by the decisions themselves, one at a time."""


@dataclass(frozen=True)
class _Item:
    event: Any  # a GatewayEvent, a spend... whatever `Decide` takes
    answer: Future[Any] | asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop | None = None  # the loop `answer` belongs to, if it is an asyncio future
    queued: float = field(default_factory=time.perf_counter)  # when it was submitted


Settled = tuple[bool, Any]  # (True, the outcome) or (False, the exception)


class GroupWriter:
    """`linger`: how long (seconds) a group waits, from its first item, for more to join it (ADR 58). A group's
    reads, append and commit cost about as much as three of its items: with several workers, each seeing a share
    of the load, fewer and larger groups leave more of the machine for the rest (`WRITER_LINGER_MS`)."""

    def __init__(
        self,
        ledger: Ledger,
        decide: Decide,
        limit: int = GROUP_LIMIT,
        prepare: Prepare = _nothing_to_prepare,
        linger: float = 0.0,
        metrics: Metrics | None = None,
    ) -> None:
        self._ledger = ledger
        self._metrics = metrics or NoMetrics()
        self._linger = linger
        self._decide = decide
        self._prepare = prepare
        self._cache = AggregateCache()
        self._writing = threading.RLock()  # the cache's objects are changed in place: one unit of work at a time
        self._depth = 0
        self._limit = limit
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self.groups_saved = 0  # for tests and metrics: how many transactions the writer made

    def submit(self, event: Any) -> Future[Any]:
        """The event's outcome, once the group it joined is saved."""
        answer: Future[Any] = Future()
        if threading.current_thread() is self._thread:  # a decision applying another event: no waiting on itself
            answer.set_result(self.apply_alone(event))
            return answer
        self._queue.put(_Item(event, answer))
        self._ensure_running()
        return answer

    def submitted(self, event: Any) -> asyncio.Future[Any]:
        """As `submit`, for a caller on an event loop: answered on that loop, each group's answers to it in one
        call (a future per caller, handed across threads, cost the loop a wake-up and two futures an answer)."""
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        self._queue.put(_Item(event, answer, loop))
        self._ensure_running()
        return answer

    def apply(self, event: Any) -> Any:
        return self.submit(event).result()

    def apply_alone(self, event: Any, waited: float = 0.0) -> Any:
        """One event in a unit of work of its own, retried on conflict (no group; `waited`: for metrics)."""
        return retry_on_conflict(lambda: self._write([event], waited)[0])

    def close(self) -> None:
        with self._start:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=10)

    def _ensure_running(self) -> None:
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mcpay-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = self._gathered(first)
            try:
                settled = self._save(group, time.perf_counter() - first.queued)
            except Exception as error:  # never leave a caller waiting on a group that could not be answered
                settled = [(False, error)] * len(group)
            _settle(group, settled)

    def _gathered(self, first: _Item) -> list[_Item]:
        """The group `first` starts: what is queued already, and what arrives while it lingers."""
        group = [first]
        deadline = time.monotonic() + self._linger
        while len(group) < self._limit:
            left = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # close after this group
                break
            group.append(item)
        return group

    def _save(self, group: list[_Item], waited: float) -> list[Settled]:
        """Each item's outcome, or the exception its caller is to get (`waited`: seconds from the first item's
        submission to now, for metrics)."""
        events = [item.event for item in group]
        outcomes: list[Any] | None = None
        conflicts = 0
        for attempt in range(GROUP_ATTEMPTS + 1):
            try:
                # Once every try met another process's save: once more, as the only writer (ADR 56).
                write = self._write if attempt < GROUP_ATTEMPTS else self._write_exclusively
                decided = write(events, waited)
            except ConcurrentChange:
                # Another process wrote one of these aggregates first: decide again from fresh reads.
                conflicts += 1
                if attempt < GROUP_ATTEMPTS:
                    time.sleep(random.uniform(0, BACKOFF_SECONDS * (attempt + 1)))  # noqa: S311 (not a secret)
                continue
            except Exception:  # one event's failure must not decide the others': apply each alone
                break
            outcomes = decided  # committed: the exclusive transaction too, once its block has ended
            break
        if outcomes is not None:
            how = "committed" if attempt < GROUP_ATTEMPTS else "exclusive"
            self._metrics.writer_group(len(events), how, conflicts)
            return [(True, outcome) for outcome in outcomes]
        settled: list[Settled] = []
        for event in events:
            try:
                settled.append((True, self.apply_alone(event, waited)))
            except Exception as error:  # handed to the caller, who maps it
                settled.append((False, error))
        self._metrics.writer_group(len(events), "one_at_a_time", conflicts)
        return settled

    def _write_exclusively(self, events: list[Any], waited: float = 0.0) -> list[Any]:
        """`_write` in a transaction no other writer appends during. Its commit comes after the unit of work's
        save: if that commit fails, the objects the decisions changed in place may be anywhere in the cache
        (read from it, then changed), so nothing kept is trusted any more."""
        try:
            with self._ledger.exclusively():
                return self._write(events, waited)
        except BaseException:
            with self._writing:
                self._cache.clear()
            raise

    def _write(self, events: list[Any], waited: float = 0.0) -> list[Any]:
        """`events` decided and saved in one unit of work; `waited`: how long the first of them waited (metrics)."""
        with self._writing:
            # A decision applying another event (on this thread) must not share the objects it is changing.
            self._depth += 1
            deciding = True
            try:
                work = UnitOfWork(self._ledger, self._cache if self._depth == 1 else None)
                began = time.perf_counter()  # the read includes the connection's checkout
                with self._ledger.on_one_connection():  # its reads and its append: one checkout from the pool
                    try:
                        self._prepare(work, events)
                        read = time.perf_counter()
                        outcomes = [self._decide(work, event) for event in events]
                        decided = time.perf_counter()
                    except BaseException:
                        work.forget()
                        raise
                    finally:
                        self._depth -= 1
                        deciding = False
                    work.save()
            finally:
                if deciding:  # no connection to be had: nothing was decided, and the next group is no nested one
                    self._depth -= 1
            saved = time.perf_counter()
            times = (waited, read - began, decided - read, saved - decided)
            self._ledger.after_commit(lambda: self._count_group(work, times))
            return outcomes

    def _count_group(self, work: UnitOfWork, times: tuple[float, float, float, float]) -> None:
        """After the commit: a failure to count must not make a committed group look failed (it would be applied
        again, one change at a time)."""
        self.groups_saved += 1
        try:
            self._metrics.writer_reads(work.cached, work.loaded)
            self._metrics.writer_times(*times)
        except Exception:
            logger.exception("the writer's metrics could not be counted; the group stands")


def _settle(group: Sequence[_Item], settled: Sequence[Settled]) -> None:
    """Each caller's answer: set here for threads, in one call on each event loop for callers there."""
    on_loops: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Settled]]] = {}
    for item, answer in zip(group, settled, strict=True):
        if item.loop is None:
            _set(item.answer, answer)
        else:
            on_loops.setdefault(item.loop, []).append((item.answer, answer))  # type: ignore[arg-type]
    for loop, answers in on_loops.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: no one is waiting there any more
            loop.call_soon_threadsafe(_set_each, answers)


def _set_each(answers: Sequence[tuple[asyncio.Future[Any], Settled]]) -> None:
    for answer, settled in answers:
        _set(answer, settled)


def _set(answer: Future[Any] | asyncio.Future[Any], settled: Settled) -> None:
    """The outcome or error, to a caller still waiting (one who went away, e.g. a closed connection, cancelled
    it)."""
    if answer.done():
        return
    succeeded, value = settled
    with contextlib.suppress(InvalidStateError, asyncio.InvalidStateError):
        if succeeded:
            answer.set_result(value)
        else:
            answer.set_exception(value)
