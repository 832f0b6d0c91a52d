"""What a wallet owner signs to spend credits with a payee, and the receipt the ledger signs back (API.md,
"Spending credits"). Both are canonical JSON: a payee, a client or an auditor rebuilds the same bytes."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.canonical import canonical_json
from domain.errors import DomainError, InvalidAmount
from domain.money import CREDITS, Money

SPEND_MESSAGE_TYPE = "mcpay.spend.v1"
NAME = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # payee and order_id
MEMO_LIMIT = 200
_SPENDS = uuid5(NAMESPACE_URL, "mcpay:spend")


class InvalidSpend(DomainError):
    """A spend names a payee or order badly, carries too long a memo, or an unreadable `signed_at`."""


class InsufficientFunds(DomainError):
    """The wallet's balance does not cover the spend (a wallet in debt covers nothing)."""


@dataclass(frozen=True)
class SpendOrder:
    """A spend as its owner signed it: who pays whom, for which order, how much, and when it was signed.

    `signed_at` is kept as the owner wrote it: the signature covers those exact characters."""

    user_id: str
    payee: str
    order_id: str
    amount: Money
    memo: str
    signed_at: str

    def __post_init__(self) -> None:
        for field, value in (("payee", self.payee), ("order_id", self.order_id)):
            if not NAME.fullmatch(value):
                raise InvalidSpend(f"{field} must be 1-64 characters of a-z A-Z 0-9 . _ : -")
        if len(self.memo) > MEMO_LIMIT:
            raise InvalidSpend(f"memo must be at most {MEMO_LIMIT} characters")
        if self.amount.currency != CREDITS or self.amount.amount <= 0:
            raise InvalidAmount(f"a spend is a positive amount of {CREDITS}")
        signed_moment(self.signed_at)

    @property
    def spend_id(self) -> UUID:
        """One spend per user, payee and order: the order id is the spend's idempotency key."""
        return spend_id_of(self.user_id, self.payee, self.order_id)

    def signed(self) -> dict[str, str]:
        return {
            "type": SPEND_MESSAGE_TYPE,
            "user_id": self.user_id,
            "payee": self.payee,
            "order_id": self.order_id,
            "amount": f"{self.amount.amount:.2f}",
            "currency": CREDITS,
            "memo": self.memo,
            "signed_at": self.signed_at,
        }

    def message(self) -> bytes:
        """The bytes the owner's key signs: the canonical JSON of `signed()`."""
        return canonical_json(self.signed()).encode()

    @property
    def fingerprint(self) -> str:
        """Tells the same signed spend sent again from another spend reusing its order id."""
        return hashlib.sha256(self.message()).hexdigest()


def spend_id_of(user_id: str, payee: str, order_id: str) -> UUID:
    return uuid5(_SPENDS, f"{user_id}\n{payee}\n{order_id}")


def signed_moment(text: str) -> datetime:
    """`signed_at` as a time: RFC 3339 in UTC (`Z` or `+00:00`)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidSpend(f"signed_at {text[:40]!r} is not an RFC 3339 time (e.g. 2026-03-01T12:00:00Z)") from None
    if "T" not in text or moment.utcoffset() is None or moment.utcoffset() != UTC.utcoffset(None):
        raise InvalidSpend("signed_at must be an RFC 3339 UTC time (e.g. 2026-03-01T12:00:00Z)")
    return moment


def receipt_body(spend_id: UUID, order: SpendOrder, at: str) -> dict[str, Any]:
    """What the ledger's key signs for a recorded spend (`receipt.signed`)."""
    return {
        "spend_id": str(spend_id),
        "order_id": order.order_id,
        "payee": order.payee,
        "amount": f"{order.amount.amount:.2f}",
        "currency": CREDITS,
        "user_id": order.user_id,
        "at": at,
    }
