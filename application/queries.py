"""Read-side ports: what async handlers list and search, answered from projection tables."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from application.paging import Listed, PageQuery, PaymentKey
from application.views import PaymentView, WalletEntry, WalletView
from domain.payment import PaymentStatus

STATUSES = tuple(status.value for status in PaymentStatus)  # what a listing's `status` may name


@dataclass(frozen=True)
class BalanceView:
    user_id: str
    balance: Decimal


@dataclass(frozen=True)
class PaymentListing:
    """Which payments a list holds, and whether in the admin desk's order (else simply newest first)."""

    user_id: str | None = None
    status: str | None = None
    gateway: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    desk_order: bool = False

    def name(self) -> str:
        """What a cursor of this listing carries: a cursor continues only the listing that gave it out."""
        bounds = (self.created_after, self.created_before)
        times = [None if moment is None else moment.astimezone(UTC).isoformat() for moment in bounds]
        fields = [self.user_id, self.status, self.gateway, *times, self.desk_order]
        return f"payments.{hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:16]}"


class AsyncPaymentQueries(Protocol):
    """Payments as the read model holds them; never one aggregate load per row."""

    async def payments_of(self, user_id: str) -> list[PaymentView]:
        """A user's payments, newest first."""

    async def payment_page(self, listing: PaymentListing, query: PageQuery[PaymentKey]) -> list[Listed[PaymentView]]:
        """Up to `query.limit` payments of the listing after `query.after`, holding and ordering them as they
        stood at log position `query.as_of` (their content as it is now)."""

    async def payment(self, payment_id: UUID) -> PaymentView | None:
        """One payment as projected (None: unknown, or not projected yet)."""

    async def awaiting_admin(self) -> dict[str, int]:
        """How many payments wait for an admin, by status."""


class AsyncWalletQueries(Protocol):
    async def wallet_of(self, user_id: str) -> WalletView:
        """Balance and movements, newest first (an empty wallet for a user never credited)."""

    async def entry_page(self, user_id: str, query: PageQuery[int]) -> list[Listed[WalletEntry]]:
        """Up to `query.limit` movements of a wallet, newest first, before log position `query.after` and at
        most `query.as_of`; each keyed by its position."""

    async def balance_of(self, user_id: str) -> BalanceView:
        """Just the balance."""

    async def balances(self, after_user: str = "", limit: int = 1000) -> list[BalanceView]:
        """Every wallet's balance, by user id, a page after `after_user`."""


class ReadModelFeed(Protocol):
    """How far the read model and the log have got, and word when either moves."""

    async def position(self) -> int:
        """The log position the read model reflects (0: nothing projected)."""

    async def head(self) -> int:
        """The log's last position (0: empty)."""

    async def listen(
        self, projected: Callable[[int], None], written: Callable[[], None], hearing: Callable[[bool], None]
    ) -> None:
        """Call `projected(position)` when the read model advances and `written()` when the log grows, until
        cancelled, and `hearing(True)` once every advance is heard (`hearing(False)` when that stops); returns
        at once where the store cannot tell (then polling alone keeps up)."""

    async def close(self) -> None: ...


class AsyncReadModel(AsyncPaymentQueries, AsyncWalletQueries, ReadModelFeed, Protocol):
    """One adapter per store answers every read-side question: `AsyncpgQueries`, `SqliteQueries`."""
