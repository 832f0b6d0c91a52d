"""Rebuild every balance from the events alone, and compare with the wallets' own state.

A wallet's top-ups, reversals and reinstatements name their payment's gateway (ADR 65): replay reads the
wallets' events alone (and so does not check a move against its payment: `mcpay ledger verify` does). A ledger
with moves recorded before they did is read again with every `PaymentInitiated`, which names each payment's
gateway, as replay read every ledger before.
"""

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
# fraction of the log (the wallets' alone, once every move names its gateway).
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
    """Every account, in double entry: wallets, payees and each gateway's account (ADR 48). The wallets' events
    first; at a move that names no gateway (recorded before moves did), everything again with the payments'
    `PaymentInitiated` (progress then starts again from the log's start)."""
    head = ledger.head()
    try:
        return _replayed(ledger, WALLET_TOPICS, head, as_of, progress)
    except GatewayUnnamed:
        return _replayed(ledger, BALANCE_TOPICS, head, as_of, progress)


def _replayed(ledger: Ledger, topics: Sequence[str], head: int, as_of: datetime | None, progress: Progress) -> Accounts:
    recorder = ledger.recorder
    moves = (
        recorder.wallet_moves(topics, stop=head)
        if isinstance(recorder, WalletMoves)
        else mapped_moves(ledger, stop=head, topics=topics)
    )
    fold = Fold(as_of, initiations=INITIATED in topics)
    # a store's reading gives its connection back now, not when collected, if the fold fails; a store lost while
    # the moves are read is the application's StoreUnavailable, as on any other read
    with store_errors(STORE), closing(moves):
        # progress told between runs of moves: a bar per event is slow
        while (reached := fold.post(islice(moves, PROGRESS_EVERY))) is not None:
            progress(reached, head)
    progress(head, head)
    return fold.accounts


def mapped_moves(
    ledger: Ledger, stop: int | None = None, topics: Sequence[str] = BALANCE_TOPICS
) -> Generator[WalletMove]:
    """The events of `topics` decoded whole by the ledger's mapper (every store has this path), up to `stop`."""
    for position, event in ledger_events(ledger, stop=stop, topics=topics):
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


class GatewayUnnamed(UnreadableEvent):
    """A move that names no gateway, folded without the payments' `PaymentInitiated`: read those too."""


class Fold:
    """The accounts the moves posted so far make, and what later moves need of earlier ones: each wallet's owner
    and each payment's gateway (that a move names, else its `PaymentInitiated`'s). `initiations`: whether the moves
    include the `PaymentInitiated` events (without them, a move naming no gateway is `GatewayUnnamed`)."""

    def __init__(self, as_of: datetime | None = None, *, initiations: bool = True) -> None:
        self.accounts = Accounts()
        self._as_of = as_of
        self._initiations = initiations
        self._owners: dict[Hashable, str] = {}
        self._gateways: dict[str, str] = {}  # of each payment, by its id

    def post(self, moves: Iterable[WalletMove]) -> int | None:
        """The moves, in log order, after those posted before; answers the last one's position (None: no move).
        One loop with every step written out: replay runs it once per event of the log."""
        accounts, owners, gateways, as_of = self.accounts, self._owners, self._gateways, self._as_of
        initiations = self._initiations
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
            gateway = move.gateway
            if gateway is None or initiations:
                gateway = self._gateway_of(move, gateway)
            if topic in FROM_GATEWAY:
                accounts.from_gateway(gateway, owner, amount)
            else:
                accounts.to_gateway(owner, gateway, amount)
        return None if move is None else move.position

    def _gateway_of(self, move: WalletMove, named: str | None) -> str:
        """The gateway of a move's payment, as its `PaymentInitiated` named it (one the move names must agree);
        without the `PaymentInitiated` events, a move that names none is `GatewayUnnamed`."""
        topic, payment = move.topic, _present(move.payment_id, move.topic)
        if not self._initiations:
            raise GatewayUnnamed(f"a {topic} event of payment {payment} names no gateway")
        initiated = self._gateways.get(payment)
        if initiated is None:
            raise UnreadableEvent(f"a {topic} event of payment {payment}, which no PaymentInitiated event initiated")
        if named is not None and named != initiated:
            raise UnreadableEvent(f"a {topic} event of payment {payment} names {named}, its payment {initiated}")
        return initiated


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
