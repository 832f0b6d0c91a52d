"""Cursors: opaque to clients, refused unless this list gave them out; pages cut where the adapter read one more."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from application.errors import Invalid, MalformedCursor
from application.paging import Cursor, Listed, PaymentKey, checked_limit, paged, payment_key, position_key
from application.queries import PaymentListing

MOMENT = datetime(2026, 3, 1, 12, tzinfo=UTC)
KEY = PaymentKey(2, MOMENT, UUID(int=7))


def encoded(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_cursor_reads_back_as_the_listing_position_and_key_it_was_made_with() -> None:
    text = Cursor("payments.x", 41, KEY.as_json()).encode()

    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    cursor = Cursor.decode(text, "payments.x")
    assert (cursor.as_of, payment_key(cursor)) == (41, KEY)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not-base64!",
        encoded("not json"),
        encoded('{"v":2,"l":"payments.x","p":1,"k":[]}'),
        encoded('{"v":1,"l":"wallet","p":1,"k":3}'),
        encoded('{"v":1,"l":"payments.x","p":-1,"k":[]}'),
        encoded('{"v":1,"l":"payments.x","p":"1","k":[]}'),
        encoded('{"v":1,"l":"payments.x"}'),
        encoded("[1, 2]"),
    ],
)
def test_anything_but_a_cursor_of_this_list_is_malformed(text: str) -> None:
    with pytest.raises(MalformedCursor):
        Cursor.decode(text, "payments.x")


@pytest.mark.parametrize(
    "key",
    [
        [],
        [1, "yesterday", str(UUID(int=1))],
        ["2", MOMENT.isoformat(), str(UUID(int=1))],
        [1, "2026-03-01T12:00:00", str(UUID(int=1))],
        [1, MOMENT.isoformat(), "x"],
        5,
    ],
)
def test_a_garbled_payment_key_is_malformed(key: object) -> None:
    with pytest.raises(MalformedCursor):
        payment_key(Cursor("payments.x", 1, key))


@pytest.mark.parametrize("key", [-1, "3", None, [3]])
def test_a_garbled_position_is_malformed(key: object) -> None:
    with pytest.raises(MalformedCursor):
        position_key(Cursor("wallet", 1, key))


@pytest.mark.parametrize("limit", [0, -1, 201])
def test_a_limit_outside_1_to_200_is_invalid(limit: int) -> None:
    with pytest.raises(Invalid, match="limit must be 1 to 200"):
        checked_limit(limit)


def test_a_page_has_a_next_cursor_only_when_the_adapter_found_more() -> None:
    rows = [Listed(position, f"entry {position}") for position in (9, 7, 4)]

    last = paged("wallet", 10, rows, 3, int)
    more = paged("wallet", 10, rows, 2, int)

    assert (last.items, last.next_cursor) == (["entry 9", "entry 7", "entry 4"], None)
    assert more.items == ["entry 9", "entry 7"]
    assert more.next_cursor is not None
    assert position_key(Cursor.decode(more.next_cursor, "wallet")) == 7


def test_payment_keys_sort_by_priority_then_newest_then_highest_id() -> None:
    keys = [
        PaymentKey(0, MOMENT, UUID(int=9)),
        PaymentKey(2, MOMENT - timedelta(days=1), UUID(int=1)),
        PaymentKey(0, MOMENT, UUID(int=10)),
        PaymentKey(0, MOMENT + timedelta(seconds=1), UUID(int=1)),
    ]

    assert sorted(keys, key=PaymentKey.order) == [keys[1], keys[3], keys[2], keys[0]]


def test_a_listing_is_named_by_its_filters_and_the_same_instant_names_it_alike() -> None:
    utc = PaymentListing(status="pending", created_after=MOMENT, desk_order=True)
    plus_one = PaymentListing(
        status="pending", created_after=MOMENT.astimezone(timezone(timedelta(hours=1))), desk_order=True
    )

    assert utc.name() == plus_one.name()
    assert utc.name() != PaymentListing(status="failed", created_after=MOMENT, desk_order=True).name()
    assert PaymentListing(user_id="a").name() != PaymentListing(user_id="b").name()
