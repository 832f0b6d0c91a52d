"""The read side at run time: the projector kept fed, readers told the moment it moves, writers' reads fresh."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Protocol
from uuid import UUID

import anyio

from application.answers import AnswerCache
from application.errors import Invalid
from application.gateways import GATEWAY_NAMES
from application.paging import (
    DEFAULT_LIMIT,
    Cursor,
    Page,
    PageQuery,
    PaymentKey,
    checked_limit,
    paged,
    payment_key,
    position_key,
)
from application.ports import Metrics
from application.projection import Projector
from application.queries import STATUSES, AsyncReadModel, BalanceView, PaymentListing
from application.views import PaymentView, WalletEntry
from application.write_mark import WriteMark
from domain.payment import PaymentStatus

logger = logging.getLogger("mcpay.reading")

POLL_SECONDS = 1.0  # the fallback when no notification arrives (another process wrote, a LISTEN was lost)
RECHECK_SECONDS = 0.25
# Once the log grows, the projector waits this long before reading it: the groups other requests commit meanwhile
# are projected in the same batch (one transaction, one round of queries) instead of one batch each.
GATHER_SECONDS = 0.02
PROJECTION = "read_model"  # the projection_lag metric's label: payments, wallets and movements move together
WALLET_LISTING = "wallet"
FRESH_SECONDS = 2.0  # how long a read waits for this process's own writes to reach the read model


class Beacon:
    """A log position that only grows; async waits for it to grow. Moved from the event loop or any thread."""

    def __init__(self) -> None:
        self.position = 0
        self._moved: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self) -> None:
        self._loop = asyncio.get_running_loop()

    def advance(self, position: int) -> None:
        if position <= self.position:
            return
        self.position = position
        if self._moved is not None:
            self._moved.set()
            self._moved = None

    def wake(self) -> None:
        """Every waiter returns now, the position unchanged."""
        if self._moved is not None:
            self._moved.set()
            self._moved = None

    def advance_threadsafe(self, position: int) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            self.position = max(self.position, position)  # no loop: nobody can be waiting
            return
        with suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self.advance, position)

    async def wait_beyond(self, position: int, timeout: float) -> int:
        """The position once it passes `position`, or after `timeout` seconds, whichever comes first."""
        if self.position > position:
            return self.position
        if self._loop is None:
            self.attach()
        if self._moved is None:
            self._moved = asyncio.Event()
        moved = self._moved
        with suppress(TimeoutError):
            await asyncio.wait_for(moved.wait(), timeout)
        return self.position


class Doorbell:
    """Rung when the log grows; the projector's loop waits on it (or on its polling interval)."""

    def __init__(self) -> None:
        self._rung = asyncio.Event()

    def ring(self) -> None:
        self._rung.set()

    async def wait(self, timeout: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._rung.wait(), timeout)
        self._rung.clear()


class ReadSide:
    """Runs the projector beside the API (whichever process holds the lease does the work) and tracks progress."""

    def __init__(
        self,
        projector: Projector,
        model: AsyncReadModel,
        written: WriteMark,
        metrics: Metrics,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.projector = projector
        self.model = model
        self.written = written
        self._metrics = metrics
        self.progress = Beacon()
        self.stopping = False  # set when the process drains: followers end their streams
        self.hearing = False  # every advance of the read model is heard here as it commits (LISTEN, or own)
        self.hearings = 0  # how many times hearing began: what was kept before a break may have missed a NOTIFY
        self._poll = poll_seconds
        projector.on_projected(self.progress.advance_threadsafe)

    async def run(self) -> None:
        """Project as the log grows, and follow the read model's position, until cancelled."""
        self.progress.attach()
        written = Doorbell()
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._listen_forever, written)
                tasks.start_soon(self._project_forever, written)
                tasks.start_soon(self._follow_forever)
        finally:
            with anyio.CancelScope(shield=True):
                await self.model.close()

    def close(self) -> None:
        self.projector.close()

    def _hearing(self, hearing: bool) -> None:
        if hearing and not self.hearing:
            self.hearings += 1
        self.hearing = hearing

    async def lag(self) -> int:
        """How many events of the log the read model has yet to apply (raises when either cannot be read)."""
        head, position = await self.model.head(), await self.model.position()
        return max(head - position, 0)

    def stop_following(self) -> None:
        """The process is shutting down: every follower of the read model stops waiting and ends (call it on
        the event loop)."""
        self.stopping = True
        self.progress.wake()

    async def reflect_own_writes(self, timeout: float) -> bool:
        """Wait (at most `timeout` s) until the read model holds everything this process has written: a writer
        then reads its own write, here or, the read model being shared, from any other process."""
        return await self.reflect(self.written.position, timeout)

    async def reflect(self, position: int, timeout: float) -> bool:
        """Wait (at most `timeout` s) until the read model reflects log position `position`."""
        if self.progress.position >= position:
            return True
        deadline = anyio.current_time() + timeout
        ask = not self.hearing  # while every advance of the read model is heard here, the position known here is its
        while True:
            # Project here, unless another process holds the lease or a thread here is at it already: each of its
            # batches is heard as it commits, and should it end before this write (at the log's end as it read it,
            # saying nothing if it projected nothing), the next pass after a recheck projects here.
            if not self.projector.projecting:
                await anyio.to_thread.run_sync(lambda: self.projector.run_once(wait=False))
            if ask:
                self.progress.advance(await self.model.position())
            reached = self.progress.position
            remaining = deadline - anyio.current_time()
            if reached >= position or remaining <= 0:
                return reached >= position
            moved = await self.progress.wait_beyond(reached, min(remaining, RECHECK_SECONDS))
            ask = moved == reached or not self.hearing  # nothing heard in time: the read model itself is asked

    async def _listen_forever(self, written: Doorbell) -> None:
        while True:
            try:
                await self.model.listen(self.progress.advance, written.ring, self._hearing)
                return  # nothing to listen to: polling alone
            except Exception:
                logger.exception("listening for the log and the read model failed; polling meanwhile")
            await anyio.sleep(self._poll)

    async def _project_forever(self, written: Doorbell) -> None:
        while True:
            try:
                await anyio.to_thread.run_sync(self.projector.run_once)
            except Exception:
                logger.exception("projection failed; trying again in %s s", self._poll)
            await written.wait(self._poll)
            await anyio.sleep(GATHER_SECONDS)

    async def _follow_forever(self) -> None:
        while True:
            try:
                head, position = await self.model.head(), await self.model.position()
            except Exception as error:
                logger.warning("cannot read the read model's position: %s", error)
            else:
                self.progress.advance(position)
                self._metrics.projection_lag(PROJECTION, max(head - position, 0))
            await self._count_awaiting_admin()
            await anyio.sleep(self._poll)

    async def _count_awaiting_admin(self) -> None:
        try:
            counts = await self.model.awaiting_admin()
        except Exception as error:
            logger.warning("cannot count the payments awaiting an admin: %s", error)
        else:
            self._metrics.payments_awaiting_admin(counts)


@dataclass(frozen=True)
class WalletPage:
    balance: BalanceView
    transactions: Page[WalletEntry]
    as_of: int = 0  # the read model's position when read (or earlier)


def _started(listing: str, limit: int, cursor: str | None) -> Cursor | None:
    checked_limit(limit)
    return None if cursor is None else Cursor.decode(cursor, listing)


@dataclass(frozen=True)
class PaymentWatch:
    """A payment now, and a way to follow it; `first` is read before any change is looked for."""

    first: PaymentView
    since: int


class OwnPayment(Protocol):
    """One payment as the write model holds it now, if it is the user's (NotFound otherwise): where a watch
    starts, so that a payment just initiated is found before the read model has taken it in."""

    def payment_of(self, user_id: str, payment_id: UUID) -> PaymentView:
        """The payment as it stands."""


class PaymentReader:
    """Lists and live status for async handlers, from the read model."""

    def __init__(self, model: AsyncReadModel, read_side: ReadSide, payments: OwnPayment) -> None:
        self._model = model
        self._side = read_side
        self._payments = payments
        self._wallet_answers: AnswerCache[bytes] = AnswerCache(read_side)

    async def payments_of(
        self, user_id: str, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[PaymentView]:
        """A user's payments, newest first, a page at a time."""
        return await self._payment_page(PaymentListing(user_id=user_id), limit, cursor)

    async def admin_queue(
        self, filters: PaymentListing, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[PaymentView]:
        """Every user's payments matching `filters`, those awaiting an admin first, a page at a time."""
        if filters.status is not None and filters.status not in STATUSES:
            raise Invalid(f"status must be one of {', '.join(STATUSES)}, not {filters.status!r}")
        if filters.gateway is not None and filters.gateway not in GATEWAY_NAMES:
            raise Invalid(f"gateway must be one of {', '.join(GATEWAY_NAMES)}, not {filters.gateway!r}")
        return await self._payment_page(replace(filters, user_id=None, desk_order=True), limit, cursor)

    async def wallet_of(self, user_id: str) -> WalletPage:
        """The balance and the newest movements, with the cursor to older ones."""
        as_of = await self._as_of(None)
        transactions = await self._entries(user_id, as_of, None, DEFAULT_LIMIT)
        return WalletPage(await self._model.balance_of(user_id), transactions, as_of)

    async def wallet_answer(self, user_id: str, encode: Callable[[WalletPage], bytes]) -> bytes:
        """`wallet_of` encoded, kept in this process until the read model moves on."""
        kept = self._wallet_answers.get(user_id)
        if kept is not None:
            return kept
        page = await self.wallet_of(user_id)
        answer = encode(page)
        self._wallet_answers.put(user_id, page.as_of, answer)
        return answer

    async def transactions_of(
        self, user_id: str, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[WalletEntry]:
        """A wallet's movements, newest first, a page at a time."""
        start = _started(WALLET_LISTING, limit, cursor)
        return await self._entries(user_id, await self._as_of(start), start, limit)

    async def _entries(self, user_id: str, as_of: int, start: Cursor | None, limit: int) -> Page[WalletEntry]:
        after = None if start is None else position_key(start)
        rows = await self._model.entry_page(user_id, PageQuery(as_of, after, limit + 1))
        return paged(WALLET_LISTING, as_of, rows, limit, int)

    async def _payment_page(self, listing: PaymentListing, limit: int, cursor: str | None) -> Page[PaymentView]:
        name = listing.name()
        start = _started(name, limit, cursor)
        as_of = await self._as_of(start)
        after = None if start is None else payment_key(start)
        rows = await self._model.payment_page(listing, PageQuery(as_of, after, limit + 1))
        return paged(name, as_of, rows, limit, PaymentKey.as_json)

    async def _as_of(self, start: Cursor | None) -> int:
        """A later page's listing is its first page's; a first page holds this process's own writes."""
        if start is not None:
            return start.as_of
        await self._side.reflect_own_writes(FRESH_SECONDS)
        return await self._model.position()

    async def watch(self, user_id: str, payment_id: UUID) -> PaymentWatch:
        """The user's payment as it stands (NotFound if it is not theirs), to follow with `changes`."""
        since = self._side.progress.position  # taken first: a change landing meanwhile is still seen
        first = await anyio.to_thread.run_sync(self._payments.payment_of, user_id, payment_id)
        return PaymentWatch(first, since)

    async def changes(
        self, watch: PaymentWatch, keepalive: float, lifetime: float
    ) -> AsyncIterator[PaymentView | None]:
        """The payment, then each change as the read model takes it in, until it leaves pending (or `lifetime`
        seconds pass, or the process stops following); None after `keepalive` seconds without news."""
        last = watch.first
        yield last
        position = watch.since
        deadline = anyio.current_time() + lifetime
        while self._following(last, deadline):
            moved = await self._side.progress.wait_beyond(position, keepalive)
            if self._side.stopping:
                return
            if moved == position:
                yield None
                continue
            position = moved
            current = await self._model.payment(last.payment_id)
            if current is not None and current.updated_at > last.updated_at:
                last = current
                yield current

    def _following(self, last: PaymentView, deadline: float) -> bool:
        return last.status == PaymentStatus.PENDING and anyio.current_time() < deadline and not self._side.stopping
