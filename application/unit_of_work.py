"""What one decision, or a group of them, read and changed: each aggregate read once, all saved together."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.aggregate_cache import AggregateCache
from application.credits import CreditService
from application.ledger import Ledger
from application.lookups import Lookups
from domain.payment import Payment

A = TypeVar("A", bound=Aggregate)


class UnitOfWork(Lookups):
    """Reads through the ledger once per aggregate; a later decision sees what an earlier one changed in place.

    Nothing reaches the store before `save`, which writes every staged aggregate in one transaction and only
    then runs what was deferred to it (metrics: a dropped unit of work counts nothing). With a cache, what it
    saw is kept there once saved, and dropped from it when the unit of work is `forget`-ten (ADR 45)."""

    def __init__(self, ledger: Ledger, cache: AggregateCache | None = None) -> None:
        self._ledger = ledger
        self._cache = cache
        self._seen: dict[UUID, Any] = {}
        self._staged: dict[UUID, Aggregate] = {}
        self._after_save: list[Callable[[], None]] = []
        self._moving: dict[UUID, Payment] = {}
        self.cached = 0  # aggregates taken from the cache, at the store's current version
        self.loaded = 0  # aggregates read from the store

    def stage(self, *aggregates: Aggregate | None) -> None:
        """To be saved with everything else this unit of work stages."""
        for aggregate in aggregates:
            if aggregate is not None:
                self._staged[aggregate.id] = aggregate
                self._seen[aggregate.id] = aggregate

    def stage_payment(self, payment: Payment) -> None:
        """A payment whose unsaved events may move credits: its wallet takes them at the save, once, however many
        decisions of this unit of work changed the payment."""
        self.stage(payment)
        self._moving[payment.id] = payment

    def after_save(self, callback: Callable[[], None]) -> None:
        self._after_save.append(callback)

    def save(self) -> None:
        """One transaction for everything staged; `ConcurrentChange` when another writer got to one of them first."""
        credits = CreditService(self)
        saved: dict[UUID, Aggregate] = {}
        for aggregate in list(self._staged.values()):
            saved.setdefault(aggregate.id, aggregate)
            wallet = credits.move(self._moving[aggregate.id]) if aggregate.id in self._moving else None
            if wallet is not None:
                self.stage(wallet)
                saved.setdefault(wallet.id, wallet)  # right after the payment that first moved it
        if saved:
            try:
                self._ledger.commit(*saved.values())
            except BaseException:
                self.forget()
                raise
        if self._cache is not None:
            cache, seen = self._cache, [aggregate for aggregate in self._seen.values() if aggregate is not None]
            self._ledger.after_commit(lambda: cache.keep(seen))  # never what a rolled-back commit saved
        for callback in self._after_save:
            self._ledger.after_commit(callback)

    def find(self, kind: type[A], aggregate_id: UUID) -> A | None:
        if aggregate_id not in self._seen:
            self._seen[aggregate_id] = self._ledger.find(kind, aggregate_id)
            self.loaded += self._seen[aggregate_id] is not None
        found = self._seen[aggregate_id]
        return found if isinstance(found, kind) else None

    def preload(self, ids: Iterable[UUID]) -> None:
        """Read these aggregates now, together, in one query: the store's current versions, and the ones the cache
        does not hold at those versions (ADR 54). An id without events is known absent (a save creating it
        conflicts with anyone who created it since)."""
        wanted = list(dict.fromkeys(i for i in ids if i not in self._seen))
        if not wanted:
            return
        kept = self._cache.versions(wanted) if self._cache is not None else {}
        versions, loaded = self._ledger.current(wanted, kept)
        current = self._cache.current(versions) if self._cache is not None else {}
        self.cached, self.loaded = self.cached + len(current), self.loaded + len(loaded)
        for aggregate_id in wanted:
            self._seen[aggregate_id] = current.get(aggregate_id) or loaded.get(aggregate_id)

    def seen(self, kind: type[A], ids: Iterable[UUID]) -> list[A]:
        """What this unit of work read (or staged) of those ids, of that kind."""
        return [found for i in ids if isinstance(found := self._seen.get(i), kind)]

    def forget(self) -> None:
        """Not saved: what it read may have been changed in place, so none of it stays cached."""
        if self._cache is not None:
            self._cache.drop(self._seen)
