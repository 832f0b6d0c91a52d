"""Rebuild every balance from the events alone, and compare with the wallets' own state."""

from __future__ import annotations

from collections.abc import Generator, Hashable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from eventsourcing.utils import get_topic

from application.errors import UnreadableEvent
from application.ledger import Ledger
from application.ports import WalletMove, WalletMoves
from application.progress import Progress, unobserved
from domain.wallet import Wallet

T = TypeVar("T")
PAGE = 1000
PROGRESS_EVERY = 10_000
# Only these move a balance: the store selects them, so replay decodes a fraction of the log.
BALANCE_TOPICS = tuple(
    f"{Wallet.__module__}:{Wallet.__qualname__}.{kind}"
    for kind in ("WalletOpened", "CreditsToppedUp", "CreditsReversed", "CreditsReinstated")
)
OPENED, TOPPED_UP, REVERSED, REINSTATED = BALANCE_TOPICS
CREDITING = frozenset({TOPPED_UP, REINSTATED})
ZERO = Decimal("0.00")


def ledger_events(
    ledger: Ledger, after: int = 0, stop: int | None = None, topics: Sequence[str] = ()
) -> Iterator[tuple[int, Any]]:
    """(position, domain event) in notification order, page by page, up to `stop` when given (of `topics` only,
    when given)."""
    position = after
    while True:
        page = ledger.recorder.select_notifications(
            start=position, limit=PAGE, stop=stop, topics=topics, inclusive_of_start=False
        )
        if not page:
            return
        for notification in page:
            yield notification.id, ledger.mapper.to_domain_event(notification)
        position = page[-1].id


def replay_balances(
    ledger: Ledger, as_of: datetime | None = None, progress: Progress = unobserved
) -> dict[str, Decimal]:
    """Balance of every wallet, from WalletOpened, CreditsToppedUp, CreditsReversed and CreditsReinstated events
    (progress: the log position reached, of the head)."""
    recorder = ledger.recorder
    head = recorder.max_notification_id() or 0
    moves = (
        recorder.wallet_moves(BALANCE_TOPICS, stop=head)
        if isinstance(recorder, WalletMoves)
        else mapped_moves(ledger, stop=head)
    )
    with closing(moves):  # a store's reading gives its connection back now, not when collected, if the fold fails
        balances = fold_balances(_reported(moves, head, progress), as_of)
    progress(head, head)
    return balances


def _reported(moves: Iterable[WalletMove], head: int, progress: Progress) -> Iterator[WalletMove]:
    """The moves, telling `progress` the position reached every PROGRESS_EVERY of them (a bar per event is slow)."""
    for count, move in enumerate(moves, start=1):
        if count % PROGRESS_EVERY == 0:
            progress(move.position, head)
        yield move


def mapped_moves(ledger: Ledger, stop: int | None = None) -> Generator[WalletMove]:
    """The wallet events decoded whole by the ledger's mapper (every store has this path), up to `stop`."""
    for position, event in ledger_events(ledger, stop=stop, topics=BALANCE_TOPICS):
        amount = getattr(event, "amount", None)
        user_id = getattr(event, "user_id", None)
        topic = get_topic(type(event))
        yield WalletMove(position, topic, event.originator_id, user_id, amount, event.timestamp.isoformat())


def fold_balances(moves: Iterable[WalletMove], as_of: datetime | None = None) -> dict[str, Decimal]:
    owners: dict[Hashable, str] = {}
    balances: dict[str, Decimal] = {}
    for _, topic, wallet, user_id, amount, timestamp in moves:
        if as_of is not None and datetime.fromisoformat(timestamp) > as_of:
            continue
        if topic == OPENED:
            owners[wallet] = _present(user_id, topic)
            balances.setdefault(owners[wallet], ZERO)
        elif topic in CREDITING:
            balances[_owner(owners, wallet, topic)] += _present(amount, topic)
        else:
            balances[_owner(owners, wallet, topic)] -= _present(amount, topic)
    return balances


def _owner(owners: dict[Hashable, str], wallet: Hashable, topic: str) -> str:
    owner = owners.get(wallet)
    if owner is None:
        raise UnreadableEvent(f"a {topic} event of wallet {wallet}, which no WalletOpened event opened")
    return owner


def _present(value: T | None, topic: str) -> T:
    if value is None:
        raise UnreadableEvent(f"a {topic} event without the field replay reads")
    return value


@dataclass(frozen=True)
class BalanceCheck:
    user_id: str
    replayed: Decimal
    wallet: Decimal

    @property
    def agrees(self) -> bool:
        return self.replayed == self.wallet


def check_balances(ledger: Ledger, progress: Progress = unobserved) -> list[BalanceCheck]:
    """Every replayed balance beside the balance its wallet aggregate holds."""
    checks = []
    for user_id, replayed in sorted(replay_balances(ledger, progress=progress).items()):
        wallet = ledger.wallet_of(user_id)
        checks.append(BalanceCheck(user_id, replayed, wallet.balance if wallet else Decimal("0.00")))
    return checks
