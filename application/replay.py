"""Rebuild every balance from the events alone, and compare with the wallets' own state."""

from __future__ import annotations

import sys
from collections.abc import Generator, Hashable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from eventsourcing.utils import get_topic

from application.accounts import Accounts
from application.errors import UnreadableEvent
from application.ledger import Ledger
from application.ports import WalletMove, WalletMoves
from application.progress import Progress, unobserved
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
    with closing(moves):  # a store's reading gives its connection back now, not when collected, if the fold fails
        accounts = fold_accounts(_reported(moves, head, progress), as_of)
    progress(head, head)
    return accounts


def _reported(moves: Iterable[WalletMove], head: int, progress: Progress) -> Iterator[WalletMove]:
    """The moves, telling `progress` the position reached every PROGRESS_EVERY of them (a bar per event is slow)."""
    for count, move in enumerate(moves, start=1):
        if count % PROGRESS_EVERY == 0:
            progress(move.position, head)
        yield move


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
    owners: dict[Hashable, str] = {}
    gateways: dict[str, str] = {}  # of each payment, by its id
    accounts = Accounts()
    for move in moves:
        topic = move.topic
        if as_of is not None and datetime.fromisoformat(move.timestamp) > as_of:
            continue
        if topic == INITIATED:
            gateways[_present(move.payment_id, topic)] = sys.intern(_present(move.gateway, topic))
        elif topic == OPENED:
            owner = owners[move.wallet] = _present(move.user_id, topic)
            accounts.open_wallet(owner)
        elif topic == SPENT:
            accounts.spend(
                _owner(owners, move.wallet, topic), _present(move.payee, topic), _present(move.amount, topic)
            )
        else:
            owner, amount = _owner(owners, move.wallet, topic), _present(move.amount, topic)
            gateway = _gateway(gateways, _present(move.payment_id, topic), topic)
            if topic in FROM_GATEWAY:
                accounts.from_gateway(gateway, owner, amount)
            else:
                accounts.to_gateway(owner, gateway, amount)
    return accounts


def _gateway(gateways: dict[str, str], payment_id: str, topic: str) -> str:
    gateway = gateways.get(payment_id)
    if gateway is None:
        raise UnreadableEvent(f"a {topic} event of payment {payment_id}, which no PaymentInitiated event initiated")
    return gateway


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
