"""Revoked sessions held in memory, so a request's revocation check costs no round trip and no thread hop.

The identity log is the truth. Memory answers only while it is known to be current: it has read the log up to
every notification heard, and it hears them (a LISTEN connection of its own). Otherwise it says "cannot tell"
and the caller asks the store, as before. Where no other process writes the log (the embedded SQLite file),
what this process records is all there is, and memory is current once it has read the log at start."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any
from uuid import UUID

import anyio

from application.errors import StoreUnavailable
from application.identity import IdentityStore
from application.reading import Doorbell
from domain.identity import SessionRevocation

logger = logging.getLogger("mcpay.identity")

PAGE = 1000
REVOCATION_TOPIC = f"{SessionRevocation.__module__}:{SessionRevocation.__qualname__}."
POLL_SECONDS = 5.0  # read the log even when nothing was heard: a lost notification is caught this late


Hear = Callable[[], None]
# Calls `heard()` on each notification of a log, `listening()` once connected, `lost()` when the connection
# breaks; runs until cancelled.
LogFollower = Callable[[Hear, Hear, Hear], Coroutine[Any, Any, None]]


class RevokedSessions:
    """The ids of revoked sessions' records, read from the identity log and kept current."""

    def __init__(self, store: IdentityStore, follow: LogFollower | None) -> None:
        """`follow`: how to hear the log grow, where other processes write it (None: only this one does)."""
        self._store = store
        self._follow = follow
        self._ids: set[UUID] = set()
        self._position = 0
        self._lock = threading.Lock()
        self._heard = 0  # notifications heard, and connections made (either may mean the log moved)
        self._caught = -1  # the `heard` count that the last finished reading of the log started from
        self._listening = follow is None  # else only a LISTEN tells us of other processes' revocations

    def revoked(self, record_id: UUID) -> bool | None:
        """Whether the session's record is in the log; None when memory cannot tell (ask the store)."""
        if not self._listening or self._caught < self._heard:
            return None
        return record_id in self._ids

    def add(self, record_id: UUID) -> None:
        """This process has just recorded the revocation: it holds here at once."""
        self._ids.add(record_id)

    def catch_up(self) -> None:
        """Read the log past what was read (blocking: run it off the event loop)."""
        started = self._heard
        with self._lock:
            while notifications := self._store.notifications(self._position, PAGE):
                self._ids.update(
                    UUID(str(n.originator_id)) for n in notifications if n.topic.startswith(REVOCATION_TOPIC)
                )
                self._position = notifications[-1].id
                if len(notifications) < PAGE:
                    break
        self._caught = max(self._caught, started)

    async def keep_current(self, poll_seconds: float = POLL_SECONDS) -> None:
        """Follow the log until cancelled: read it whenever a notification is heard, or every `poll_seconds`."""
        moved = Doorbell()

        def heard() -> None:
            self._heard += 1
            moved.ring()

        def listening() -> None:
            self._listening = True
            heard()  # whatever was written while nobody listened

        def lost() -> None:
            self._listening = False

        async with anyio.create_task_group() as tasks:
            if self._follow is not None:
                tasks.start_soon(self._follow, heard, listening, lost)
            while True:
                try:
                    await anyio.to_thread.run_sync(self.catch_up)
                except StoreUnavailable as error:
                    logger.warning("cannot read the identity log (the store answers meanwhile): %s", error)
                except Exception:
                    logger.exception("reading the identity log failed (the store answers meanwhile)")
                await moved.wait(poll_seconds)
