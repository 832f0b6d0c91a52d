"""Rebuild every balance from the events alone, and compare with the wallets' own state."""

from __future__ import annotations

import sys
from collections.abc import Generator, Hashable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import islice
from typing import Any, TypeVar

from eventsourcing.utils import get_topic

from application.accounts import Accounts
from application.errors import UnreadableEvent
from application.ledger import STORE, Ledger
from application.ports import WalletMove, WalletMoves
from application.progress import Progress, unobserved
from application.store_errors import store_errors
from domain.payment import Payment
from domain.wallet import Wallet

T = TypeVar("T")
PAGE = 1000
PROGRESS_EVERY = 10_000
WALLET_TOPICS = tuple(
    f"{Wallet.__module__}:{Wallet.__qualname__}.{kind}"
    for kind in ("WalletOpened", "CreditsToppedUp", "CreditsReversed", "CreditsReinstated", "CreditsSpent")
)
OPENED, TOPPED_UP, REVERSED, REINSTATED, SPENT = WALLET_TOPICS
INITIATED = f"{Payment.__module__}:{Payment.__qualname__}.PaymentInitiated"  # names the gateway of a payment
# Only these move a balance or name the account a move comes from: the store selects them, so replay decodes a
# fraction of the log.
BALANCE_TOPICS = (*WALLET_TOPICS, INITIATED)
FROM_GATEWAY = frozenset({TOPPED_UP, REINSTATED})


def ledger_events(
    ledger: Ledger, after: int = 0, stop: int | None = None, topics: Sequence[str] = ()
) -> Iterator[tuple[int, Any]]:
    """(position, domain event) in notification order, page by page, up to `stop` when given (of `topics` only,
    when given)."""
    position = after
    while True:
        page = ledger.notifications(position, PAGE, stop, topics)
        if not page:
            return
        for notification in page:
            yield notification.id, ledger.mapper.to_domain_event(notification)
        position = page[-1].id


def replay_balances(
    ledger: Ledger, as_of: datetime | None = None, progress: Progress = unobserved
) -> dict[str, Decimal]:
    """Balance of every wallet, from the wallets' events (progress: the log position reached, of the head)."""
    return replay_accounts(ledger, as_of, progress).wallets


def replay_accounts(ledger: Ledger, as_of: datetime | None = None, progress: Progress = unobserved) -> Accounts:
    """Every account, in double entry: wallets, payees and each gateway's account (ADR 48)."""
    recorder = ledger.recorder
    head = ledger.head()
    moves = (
        recorder.wallet_moves(BALANCE_TOPICS, stop=head)
        if isinstance(recorder, WalletMoves)
        else mapped_moves(ledger, stop=head)
    )
    fold = Fold(as_of)
    # a store's reading gives its connection back now, not when collected, if the fold fails; a store lost while
    # the moves are read is the application's StoreUnavailable, as on any other read
    with store_errors(STORE), closing(moves):
        # progress told between runs of moves: a bar per event is slow
        while (reached := fold.post(islice(moves, PROGRESS_EVERY))) is not None:
            progress(reached, head)
    progress(head, head)
    return fold.accounts


def mapped_moves(ledger: Ledger, stop: int | None = None) -> Generator[WalletMove]:
    """The events of BALANCE_TOPICS decoded whole by the ledger's mapper (every store has this path), up to `stop`."""
    for position, event in ledger_events(ledger, stop=stop, topics=BALANCE_TOPICS):
        payment_id = getattr(event, "payment_id", None)
        yield WalletMove(
            position,
            get_topic(type(event)),
            event.originator_id,
            getattr(event, "user_id", None),
            getattr(event, "amount", None),
            event.timestamp.isoformat(),
            None if payment_id is None else payment_id.hex,
            getattr(event, "gateway", None),
            getattr(event, "payee", None),
        )


def fold_balances(moves: Iterable[WalletMove], as_of: datetime | None = None) -> dict[str, Decimal]:
    return fold_accounts(moves, as_of).wallets


def fold_accounts(moves: Iterable[WalletMove], as_of: datetime | None = None) -> Accounts:
    """Each move posted as its two legs: top-ups and reinstatements come from the paid gateway's account,
    reversals go back to it, spends go from the wallet to the payee."""
    fold = Fold(as_of)
    fold.post(moves)
    return fold.accounts


class Fold:
    """The accounts the moves posted so far make, and what later moves need of earlier ones: each wallet's owner
    and each payment's gateway."""

    def __init__(self, as_of: datetime | None = None) -> None:
        self.accounts = Accounts()
        self._as_of = as_of
        self._owners: dict[Hashable, str] = {}
        self._gateways: dict[str, str] = {}  # of each payment, by its id

    def post(self, moves: Iterable[WalletMove]) -> int | None:
        """The moves, in log order, after those posted before; answers the last one's position (None: no move).
        One loop with every step written out: replay runs it once per event of the log."""
        accounts, owners, gateways, as_of = self.accounts, self._owners, self._gateways, self._as_of
        move = None
        for move in moves:
            topic = move.topic
            if as_of is not None and datetime.fromisoformat(move.timestamp) > as_of:
                continue
            if topic == INITIATED:
                gateways[_present(move.payment_id, topic)] = sys.intern(_present(move.gateway, topic))
                continue
            if topic == OPENED:
                opened = owners[move.wallet] = _present(move.user_id, topic)
                accounts.open_wallet(opened)
                continue
            owner, amount = owners.get(move.wallet), move.amount
            if owner is None:
                raise UnreadableEvent(f"a {topic} event of wallet {move.wallet}, which no WalletOpened event opened")
            if amount is None:
                raise _missing(topic)
            if topic == SPENT:
                accounts.spend(owner, _present(move.payee, topic), amount)
                continue
            gateway = gateways.get(_present(move.payment_id, topic))
            if gateway is None:
                raise UnreadableEvent(
                    f"a {topic} event of payment {move.payment_id}, which no PaymentInitiated event initiated"
                )
            if topic in FROM_GATEWAY:
                accounts.from_gateway(gateway, owner, amount)
            else:
                accounts.to_gateway(owner, gateway, amount)
        return None if move is None else move.position


def _present(value: T | None, topic: str) -> T:
    if value is None:
        raise _missing(topic)
    return value


def _missing(topic: str) -> UnreadableEvent:
    return UnreadableEvent(f"a {topic} event without the field replay reads")


@dataclass(frozen=True)
class BalanceCheck:
    user_id: str
    replayed: Decimal
    wallet: Decimal

    @property
    def agrees(self) -> bool:
        return self.replayed == self.wallet


@dataclass(frozen=True)
class LedgerCheck:
    wallets: list[BalanceCheck]
    payees: dict[str, Decimal]
    gateways: dict[str, Decimal]  # below zero by what was bought through each and not reversed
    balanced: bool  # the accounts add up to zero

    @property
    def agrees(self) -> bool:
        return self.balanced and all(check.agrees for check in self.wallets)


def check_balances(ledger: Ledger, progress: Progress = unobserved) -> list[BalanceCheck]:
    """Every replayed balance beside the balance its wallet aggregate holds."""
    return check_ledger(ledger, progress).wallets


def check_ledger(ledger: Ledger, progress: Progress = unobserved) -> LedgerCheck:
    """Every account replayed; each wallet's beside the balance its aggregate holds."""
    accounts = replay_accounts(ledger, progress=progress)
    checks = []
    for user_id, replayed in sorted(accounts.wallets.items()):
        wallet = ledger.wallet_of(user_id)
        checks.append(BalanceCheck(user_id, replayed, wallet.balance if wallet else Decimal("0.00")))
    return LedgerCheck(
        checks, dict(sorted(accounts.payees.items())), dict(sorted(accounts.gateways.items())), accounts.balanced
    )
