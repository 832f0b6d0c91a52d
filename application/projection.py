"""Projections: the ledger's notification log folded into read-model rows, a batch per transaction."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import AggregateCreated
from eventsourcing.persistence import IntegrityError, Notification
from eventsourcing.utils import resolve_topic

from application.ledger import Ledger
from application.ports import PaymentQueries
from application.progress import Progress, unobserved
from application.views import PaymentView, SpendDetails, WalletEntry
from domain.payment import Payment
from domain.wallet import Wallet

logger = logging.getLogger("mcpay.projection")

BATCH = 500
FOLDS_KEPT = 10_000  # payments kept folded between batches, so a busy payment is not reloaded each time
HANDED_KEPT = 4_096  # views of payments this process committed, kept until the projector takes them
CONFLICTS_IN_A_ROW = 5
# A wallet's events that move credits for a payment, and the kind of movement each lists as (a spend lists as
# "spend"; every kind is paged by position alike).
MOVEMENTS: dict[type[Any], str] = {
    Wallet.CreditsToppedUp: "top_up",
    Wallet.CreditsReversed: "reversal",
    Wallet.CreditsReinstated: "reinstatement",
}


@dataclass(frozen=True)
class ProjectedPayment:
    view: PaymentView
    version: int  # the aggregate's version the view shows: an older one never overwrites a newer
    position: int


@dataclass(frozen=True)
class PaymentChange:
    """A payment's status and whether it awaits an admin, as each of its events left them (for paged lists)."""

    payment_id: UUID
    position: int
    status: str
    awaits_admin: bool
    needs_attention: bool


@dataclass(frozen=True)
class WalletOpening:
    wallet_id: UUID
    user_id: str
    at: datetime
    position: int


@dataclass(frozen=True)
class WalletMovement:
    """A wallet's entry as the read model lists it, at its position in the log (the row's key)."""

    position: int
    wallet_id: UUID
    entry: WalletEntry


@dataclass(frozen=True)
class WalletBalance:
    """A wallet's balance after a batch, and since when it is below zero: `debt_from` starts the batch's last run
    of negative balances (None: not in debt); unless `debt_restarted`, a debt from before the batch goes on."""

    last: WalletMovement
    debt_from: datetime | None
    debt_restarted: bool


@dataclass(frozen=True)
class PayeeTotal:
    payee: str
    amount: Decimal
    spends: int


@dataclass(frozen=True)
class ProjectedBatch:
    """The rows that the log's events in (after, end] change; applied together with `end` as the position."""

    after: int
    end: int
    payments: tuple[ProjectedPayment, ...] = ()
    wallets: tuple[WalletOpening, ...] = ()
    movements: tuple[WalletMovement, ...] = ()
    changes: tuple[PaymentChange, ...] = ()

    def balances(self) -> list[WalletBalance]:
        """Each wallet's last movement in the batch (its balance now) and its debt."""
        balances: dict[UUID, WalletBalance] = {}
        for movement in self.movements:
            before = balances.get(movement.wallet_id)
            if movement.entry.balance_after >= 0:
                balances[movement.wallet_id] = WalletBalance(movement, None, False)
            elif before is not None and before.debt_from is not None:
                balances[movement.wallet_id] = WalletBalance(movement, before.debt_from, before.debt_restarted)
            else:
                balances[movement.wallet_id] = WalletBalance(movement, movement.entry.at, before is not None)
        return list(balances.values())

    def payees(self) -> list[PayeeTotal]:
        """What the batch's spends moved to each payee."""
        totals: dict[str, PayeeTotal] = {}
        for movement in self.movements:
            entry = movement.entry
            if entry.spend is not None:
                payee = entry.spend.payee
                total = totals.get(payee, PayeeTotal(payee, Decimal("0.00"), 0))
                totals[payee] = PayeeTotal(payee, total.amount + entry.amount, total.spends + 1)
        return list(totals.values())


class ReadModelStore(Protocol):
    """Projection tables with their position in the log, written only through whole batches."""

    def position(self) -> int:
        """The log position the rows reflect (0: nothing projected)."""

    def apply(self, batch: ProjectedBatch) -> None:
        """Write the batch's rows and its end position in one transaction; IntegrityError if already applied."""

    def rebuild(self, batches: Iterable[ProjectedBatch]) -> None:
        """Replace every row and the position with the batches', in one transaction."""

    def wait_for(self, position: int, timeout: float) -> bool:
        """Wait until the rows reflect `position` (True), or until `timeout` seconds passed (False)."""

    def close(self) -> None: ...


class Lease(Protocol):
    """Permission to project: held by one process per store, so the work is done once."""

    def acquire(self) -> bool:
        """True while this process holds the lease (taking it now if it is free)."""

    def release(self) -> None: ...


class PaymentFolds:
    """Payment aggregates rebuilt by applying each event to the state before it, loading only on a gap; or, for
    an event that ended a commit of this process, the payment as that commit left it (ADR 61)."""

    def __init__(self, ledger: Ledger, kept: int = FOLDS_KEPT, handed_kept: int = HANDED_KEPT) -> None:
        self._ledger = ledger
        self._kept = kept
        self._payments: OrderedDict[UUID, Payment] = OrderedDict()
        self._handed_kept = handed_kept
        self._handed: OrderedDict[tuple[UUID, int], PaymentView] = OrderedDict()
        self._handing = threading.Lock()  # committing threads hand over; the projecting one reads
        self.taking = False  # whether views are worth making: only while this process projects

    def hand_over(self, aggregates: Iterable[object]) -> None:
        """Just-committed aggregates: each payment's view at the version its commit left it, for the projector
        to take instead of loading the payment again (the committing thread pays for the view alone)."""
        if not self.taking:
            return
        views = [((a.id, a.version), PaymentView.of(a)) for a in aggregates if isinstance(a, Payment)]
        if views:
            with self._handing:
                self._handed.update(views)
                while len(self._handed) > self._handed_kept:
                    self._handed.popitem(last=False)

    def apply(self, event: Any) -> PaymentView:
        """The payment's view once `event` is applied."""
        payment_id = UUID(str(event.originator_id))
        payment = self._payments.pop(payment_id, None)
        handed = self._handed_view(payment_id, event.originator_version)
        if handed is not None:
            return handed  # nothing kept to fold its next event onto: that one loads, unless handed over too
        if payment is None or payment.version != event.originator_version - 1:
            payment = self._before(payment_id, event.originator_version)
        folded: Payment = event.mutate(payment)
        self._payments[payment_id] = folded
        if len(self._payments) > self._kept:
            self._payments.popitem(last=False)
        return PaymentView.of(folded)

    def prepare(self, events: Sequence[Any]) -> None:
        """Load together, as they stood before it, the payments whose first event here does not follow what is
        kept (one query for a page, where the store can: ADR 54), unless each of their events here was handed
        over."""
        firsts: dict[UUID, int] = {}
        unhanded: set[UUID] = set()
        with self._handing:
            for event in events:
                payment_id = UUID(str(event.originator_id))
                firsts.setdefault(payment_id, event.originator_version)
                if (payment_id, event.originator_version) not in self._handed:
                    unhanded.add(payment_id)
        before: dict[UUID, int] = {}
        for payment_id, version in firsts.items():
            kept = self._payments.get(payment_id)
            if payment_id in unhanded and version > 1 and (kept is None or kept.version != version - 1):
                before[payment_id] = version - 1
        if before:
            for payment_id, payment in self._ledger.as_at(before).items():
                if isinstance(payment, Payment):
                    self._payments[payment_id] = payment

    def forget(self) -> None:
        self._payments.clear()

    def _handed_view(self, payment_id: UUID, version: int) -> PaymentView | None:
        with self._handing:
            return self._handed.pop((payment_id, version), None)

    def _before(self, payment_id: UUID, version: int) -> Payment | None:
        if version == 1:
            return None
        payment: Payment = self._ledger.repository.get(payment_id, version=version - 1)
        return payment


def project(ledger: Ledger, folds: PaymentFolds, after: int, notifications: Sequence[Notification]) -> ProjectedBatch:
    """The rows a page of notifications changes: each payment's latest state, wallets opened, credit movements.

    Events are told apart by their class (resolved from the topic, cached by the library), and only the
    events of the aggregates the read model shows are decoded."""
    payments: dict[UUID, ProjectedPayment] = {}
    changes: list[PaymentChange] = []
    wallets: list[WalletOpening] = []
    movements: list[WalletMovement] = []
    decoded = [(notification, resolve_topic(notification.topic)) for notification in notifications]
    shown = [
        (notification.id, kind, ledger.mapper.to_domain_event(notification))
        for notification, kind in decoded
        if issubclass(kind, Payment.Event | Wallet.Event)
    ]
    folds.prepare([event for _, kind, event in shown if issubclass(kind, Payment.Event)])
    for position, kind, event in shown:
        if issubclass(kind, Payment.Event):
            view = folds.apply(event)
            payments[view.payment_id] = ProjectedPayment(view, event.originator_version, position)
            changes.append(
                PaymentChange(view.payment_id, position, view.status, view.awaits_admin, view.needs_attention)
            )
        else:
            _wallet_rows(event, position, wallets, movements)
    end = notifications[-1].id if notifications else after
    return ProjectedBatch(after, end, tuple(payments.values()), tuple(wallets), tuple(movements), tuple(changes))


def _wallet_rows(event: Any, position: int, wallets: list[WalletOpening], movements: list[WalletMovement]) -> None:
    wallet_id = UUID(str(event.originator_id))
    if isinstance(event, AggregateCreated):  # a wallet is created by opening it (WalletOpened)
        user_id: str = getattr(event, "user_id")  # noqa: B009 (the class is made by the library's decorator)
        wallets.append(WalletOpening(wallet_id, user_id, event.timestamp, position))
    elif isinstance(event, Wallet.CreditsSpent):
        spend = SpendDetails(UUID(str(event.spend_id)), event.payee, event.order_id, event.memo, event.signed_at)
        entry = WalletEntry("spend", event.amount, None, event.timestamp, event.balance_after, spend)
        movements.append(WalletMovement(position, wallet_id, entry))
    elif (kind := MOVEMENTS.get(type(event))) is not None:
        entry = WalletEntry(kind, event.amount, event.payment_id, event.timestamp, event.balance_after)
        movements.append(WalletMovement(position, wallet_id, entry))


class Projector:
    """Feeds the read model from the log: exactly once (position and rows commit together), resumable."""

    def __init__(self, ledger: Ledger, store: ReadModelStore, lease: Lease, batch_size: int = BATCH) -> None:
        self._ledger = ledger
        self._store = store
        self._lease = lease
        self._batch_size = batch_size
        self._folds = PaymentFolds(ledger)
        ledger.on_committed(self._folds.hand_over)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[int], None]] = []

    @property
    def store(self) -> ReadModelStore:
        return self._store

    @property
    def projecting(self) -> bool:
        """A thread of this process is projecting now (it carries on to the log's end)."""
        return self._lock.locked()

    def on_projected(self, listener: Callable[[int], None]) -> None:
        """Call `listener(position)` after each batch this process commits."""
        self._listeners.append(listener)

    def run_once(self, wait: bool = True) -> int:
        """Project every event past the read model's position; 0 at once if another process holds the lease (or,
        unless `wait`, if another thread of this one is projecting: it carries on until the log's end)."""
        if not self._lock.acquire(blocking=wait):
            return 0
        try:
            self._folds.taking = self._lease.acquire()
            return self._run() if self._folds.taking else 0
        finally:
            self._lock.release()

    def catch_up(self, timeout: float) -> bool:
        """Bring the read model up to the log's current head: here, or by waiting for the lease holder."""
        head = self._ledger.recorder.max_notification_id() or 0
        self.run_once(wait=False)
        return self._store.wait_for(head, timeout)

    def rebuild(self, progress: Progress = unobserved) -> int:
        """Project the whole log again from position 0, replacing every row in one transaction; answers the
        number of events projected (progress: the log position reached, of the head)."""
        events = 0

        def batches(stop: int) -> Iterator[ProjectedBatch]:
            nonlocal events
            position = 0
            while page := self._page(position, stop):
                events += len(page)
                yield project(self._ledger, self._folds, position, page)
                position = page[-1].id
                progress(position, stop)

        with self._lock:
            self._folds.forget()
            head = self._ledger.recorder.max_notification_id() or 0
            try:
                self._store.rebuild(batches(head))
            finally:
                self._folds.forget()
            self._announce(head)
            return events

    def close(self) -> None:
        with self._lock:
            self._lease.release()
            self._store.close()

    def _run(self) -> int:
        projected = 0
        conflicts = 0
        position = self._store.position()
        while True:
            page = self._page(position, None)
            if not page:
                return projected
            batch = project(self._ledger, self._folds, position, page)
            try:
                self._store.apply(batch)
            except IntegrityError:
                # Another projector applied these events first: carry on from where it got to.
                self._folds.forget()
                conflicts += 1
                if conflicts >= CONFLICTS_IN_A_ROW:
                    raise
                position = self._store.position()
                continue
            except BaseException:
                self._folds.forget()  # the rows were rolled back; the folded states may be ahead of them
                raise
            conflicts = 0
            projected += len(page)
            position = batch.end
            self._announce(position)
            if len(page) < self._batch_size:
                return projected  # the log's end as it was read: a later write rings again

    def _page(self, after: int, stop: int | None) -> Sequence[Notification]:
        return self._ledger.recorder.select_notifications(
            start=after, limit=self._batch_size, stop=stop, inclusive_of_start=False
        )

    def _announce(self, position: int) -> None:
        for listener in self._listeners:
            try:
                listener(position)
            except Exception:
                logger.exception("a projection listener failed")


class CaughtUpPaymentQueries:
    """The PaymentQueries port for the reconciler: catches the read model up, then reads it."""

    def __init__(self, projector: Projector, reads: PaymentQueries, timeout: float) -> None:
        self._projector = projector
        self._reads = reads
        self._timeout = timeout

    def pending_since(self, cutoff: datetime) -> list[PaymentView]:
        self._projector.catch_up(self._timeout)
        return self._reads.pending_since(cutoff)

    def credited_since(self, gateway: str, cutoff: datetime) -> list[PaymentView]:
        self._projector.catch_up(self._timeout)
        return self._reads.credited_since(gateway, cutoff)
