"""Aggregates kept between the writer's groups, each trusted only at the version the store holds now.

Without a re-check two processes writing the same wallets conflicted on half of their groups (issue 13): every
group asks the store for the current version of the aggregates it needs and takes from here only those whose kept
version is that version (the same query reads the others: ADR 54). The objects are the ones decisions change in place, so a unit of work
keeps what it saw after its save committed and drops it when it did not.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from uuid import UUID

from eventsourcing.domain import Aggregate

KEPT = 20_000


class AggregateCache:
    """Least recently used first out; used by one writer's thread (one unit of work at a time)."""

    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._aggregates: OrderedDict[UUID, Aggregate] = OrderedDict()

    def versions(self, ids: Iterable[UUID]) -> dict[UUID, int]:
        """The versions at which these aggregates are kept (those kept at all)."""
        return {i: aggregate.version for i in ids if (aggregate := self._aggregates.get(i)) is not None}

    def current(self, versions: Mapping[UUID, int]) -> dict[UUID, Aggregate]:
        """The kept aggregates whose version is the store's current one."""
        found: dict[UUID, Aggregate] = {}
        for aggregate_id, version in versions.items():
            aggregate = self._aggregates.get(aggregate_id)
            if aggregate is not None and aggregate.version == version:
                self._aggregates.move_to_end(aggregate_id)
                found[aggregate_id] = aggregate
        return found

    def keep(self, aggregates: Iterable[Aggregate]) -> None:
        """Saved, or read and unchanged: current at their versions."""
        for aggregate in aggregates:
            self._aggregates[aggregate.id] = aggregate
            self._aggregates.move_to_end(aggregate.id)
        while len(self._aggregates) > self._kept:
            self._aggregates.popitem(last=False)

    def clear(self) -> None:
        """Nothing kept is to be trusted (objects changed in place by a save whose commit failed)."""
        self._aggregates.clear()

    def drop(self, ids: Iterable[UUID]) -> None:
        """Changed in place by a unit of work that was not saved."""
        for aggregate_id in ids:
            self._aggregates.pop(aggregate_id, None)
