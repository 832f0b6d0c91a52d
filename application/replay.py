"""Rebuild every balance from the events alone, and compare with the wallets' own state."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.ledger import Ledger
from application.progress import Progress, unobserved
from domain.wallet import Wallet

PAGE = 1000
# Only these move a balance: the store selects them, so replay decodes a fraction of the log.
BALANCE_TOPICS = tuple(
    f"{Wallet.__module__}:{Wallet.__qualname__}.{kind}"
    for kind in ("WalletOpened", "CreditsToppedUp", "CreditsReversed", "CreditsReinstated")
)


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
    owners: dict[UUID, str] = {}
    balances: dict[str, Decimal] = {}
    head = ledger.recorder.max_notification_id() or 0
    for position, event in ledger_events(ledger, stop=head, topics=BALANCE_TOPICS):
        progress(position, head)
        if as_of is not None and event.timestamp > as_of:
            continue
        kind = type(event).__name__
        if kind == "WalletOpened":
            owners[event.originator_id] = event.user_id
            balances.setdefault(event.user_id, Decimal("0.00"))
        elif kind in ("CreditsToppedUp", "CreditsReinstated"):
            user = owners[event.originator_id]
            balances[user] += event.amount
        elif kind == "CreditsReversed":
            user = owners[event.originator_id]
            balances[user] -= event.amount
    progress(head, head)
    return balances


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
