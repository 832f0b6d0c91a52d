"""Paged lists: each page continues after the last item's sort key, in the listing as of one log position.

A cursor pins the listing to the read model's position when its first page was read (`as_of`): which items
belong to it and their order are taken as they stood then, so writes between pages never repeat or skip an
item (ADR "keyset-pages-as-of-a-position"). Cursors are opaque to clients: base64url of a small versioned JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar
from uuid import UUID

from application.errors import Invalid, MalformedCursor

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
VERSION = 1

Item = TypeVar("Item")


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PaymentKey:
    """Where a payment stands in a list, first to last: highest priority first (the admin desk's groups: 2 pending
    transfers awaiting an admin, 1 other payments awaiting one, 0 the rest; 0 throughout a user's own list), then
    newest first."""

    priority: int
    created_at: datetime
    payment_id: UUID

    def order(self) -> tuple[int, timedelta, int]:
        """Sorts first to last: priority, created_at and payment_id all descending."""
        return (-self.priority, EPOCH - self.created_at, -self.payment_id.int)

    def as_json(self) -> list[Any]:
        return [self.priority, self.created_at.isoformat(), str(self.payment_id)]

    @classmethod
    def from_json(cls, value: Any) -> PaymentKey:
        priority, created_at, payment_id = value
        if type(priority) is not int:
            raise ValueError("priority")
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("created_at")
        return cls(priority, moment, UUID(payment_id))


@dataclass(frozen=True)
class PageQuery(Generic[Item]):
    """What an adapter answers: up to `limit` items after `after` (None: from the top), as of log position
    `as_of`."""

    as_of: int
    after: Item | None
    limit: int


@dataclass(frozen=True)
class Listed(Generic[Item]):
    """An item of a page with its sort key in the listing (which may differ from where it would stand now)."""

    key: Any
    item: Item


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    next_cursor: str | None


@dataclass(frozen=True)
class Cursor:
    listing: str
    as_of: int
    after: Any

    def encode(self) -> str:
        text = json.dumps({"v": VERSION, "l": self.listing, "p": self.as_of, "k": self.after}, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, text: str, listing: str) -> Cursor:
        """The cursor of `listing` that `text` carries; MalformedCursor for anything else."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            fields = json.loads(raw.decode())
            valid = fields["v"] == VERSION and fields["l"] == listing and type(fields["p"]) is int
        except (binascii.Error, ValueError, TypeError, KeyError):
            valid = False
        if not valid or fields["p"] < 0:
            raise MalformedCursor("the cursor is not one this list gave out")
        return cls(listing, fields["p"], fields["k"])


def checked_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be 1 to {MAX_LIMIT}, not {limit}")
    return limit


def payment_key(cursor: Cursor) -> PaymentKey:
    try:
        return PaymentKey.from_json(cursor.after)
    except (ValueError, TypeError) as error:
        raise MalformedCursor("the cursor is not one this list gave out") from error


def position_key(cursor: Cursor) -> int:
    if type(cursor.after) is not int or cursor.after < 0:
        raise MalformedCursor("the cursor is not one this list gave out")
    return cursor.after


def paged(listing: str, as_of: int, rows: list[Listed[Item]], limit: int, key_json: Any) -> Page[Item]:
    """The first `limit` of `rows` (the adapter read one more), and the cursor to the rest if there is more."""
    shown = rows[:limit]
    more = len(rows) > limit
    next_cursor = Cursor(listing, as_of, key_json(shown[-1].key)).encode() if more and shown else None
    return Page([row.item for row in shown], next_cursor)
