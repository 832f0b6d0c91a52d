"""The events replay needs, read straight from the library's events table and decoded in part.

The library's mapper decodes every field of a stored event (JSON, then a UUID, Decimals and a datetime
through its transcoder) and builds the domain event. Replay needs a few fields of it: these recorders
select the rows of the given topics (up to a position) in one query, streamed in large pages, and decode only
`user_id`, `amount`, `timestamp`, and the `payment_id`, `gateway` and `payee` that name the other account of
a move (ADR 41, ADR 48). Same table, same format: they are the library's recorders otherwise.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from decimal import Decimal
from functools import partial
from typing import Any, Literal

import msgspec
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from application.errors import UnreadableEvent
from application.ports import WalletMove

ROWS_A_FETCH = 10_000
LAST = 2**63 - 1  # no stop: the highest position either store can give


# The library's JSON transcoder writes a type JSON lacks as {"_type_": name, "_data_": text}
# (eventsourcing.persistence): each of those replay reads, its name checked and its text read by the decoder.
class DecimalText(msgspec.Struct, gc=False):
    type: Literal["decimal_str"] = msgspec.field(name="_type_")
    data: Decimal = msgspec.field(name="_data_")


class UuidHex(msgspec.Struct, gc=False):
    type: Literal["uuid_hex"] = msgspec.field(name="_type_")
    data: str = msgspec.field(name="_data_")


class DatetimeIso(msgspec.Struct, gc=False):
    type: Literal["datetime_iso"] = msgspec.field(name="_type_")
    data: str = msgspec.field(name="_data_")


class WalletState(msgspec.Struct, gc=False):
    """The fields of a stored event's state that replay reads; the others are skipped unread."""

    timestamp: DatetimeIso
    user_id: str | None = None
    amount: DecimalText | None = None
    payment_id: UuidHex | None = None
    gateway: str | None = None
    payee: str | None = None


_decode = msgspec.json.Decoder(WalletState).decode
# A move built as `WalletMove._make` builds one, without the Python call NamedTuple's own constructor makes (half
# of its cost, a tenth of a row's).
_move = partial(tuple.__new__, WalletMove)


def wallet_move(row: tuple[int, str, Any, bytes]) -> WalletMove:
    """A row (position, topic, wallet, state) read as a move."""
    position, topic, wallet, state = row
    try:
        decoded = _decode(state)
    except msgspec.DecodeError as error:  # not JSON, or a field replay reads not in the library's encoding
        raise UnreadableEvent(f"a {topic} event's state: {error}") from None
    amount, payment = decoded.amount, decoded.payment_id
    if amount is not None and not amount.data.is_finite():  # the decoder reads "NaN" and "Infinity" too
        raise UnreadableEvent(f"a {topic} event's amount is not a finite number")
    return _move(
        (
            position,
            topic,
            wallet,
            decoded.user_id,
            None if amount is None else amount.data,
            decoded.timestamp.data,
            None if payment is None else payment.data,
            decoded.gateway,
            decoded.payee,
        )
    )


class SqliteWalletMovesRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, with replay's reading of the wallet events.

    Read on the caller's thread: SQLite lets go of the GIL for each row it steps to, so a reading thread of its own
    would take the GIL back from the decoding once a row (it measured slower, not faster)."""

    def wallet_moves(self, topics: Sequence[str], stop: int | None = None) -> Generator[WalletMove]:
        marks = ", ".join("?" for _ in topics)
        statement = (
            f"SELECT rowid, topic, originator_id, state FROM {self.events_table_name} "  # noqa: S608 (our table)
            f"WHERE topic IN ({marks}) AND rowid <= ? ORDER BY rowid"
        )
        with self.datastore.transaction(commit=False) as cursor:
            rows = cursor.sqlite_cursor
            rows.row_factory = None  # plain tuples, not the library's `sqlite3.Row` (a tenth of the fetch)
            rows.execute(statement, [*topics, LAST if stop is None else stop])
            while page := rows.fetchmany(ROWS_A_FETCH):
                yield from map(wallet_move, page)


class PostgresWalletMovesRecorder(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, with replay's reading of the wallet events (a server-side cursor, its pages
    read ahead, below)."""

    def wallet_moves(self, topics: Sequence[str], stop: int | None = None) -> Generator[WalletMove]:
        statement = SQL(
            "SELECT notification_id, topic, originator_id::text, state FROM {schema}.{table} "
            "WHERE topic = ANY(%s) AND notification_id <= %s ORDER BY notification_id"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))

        def pages() -> Generator[list[Any]]:
            with self.datastore.get_connection() as connection, connection.transaction():
                connection.execute("SET LOCAL idle_in_transaction_session_timeout = 0")  # the reader paces it
                with connection.cursor(name="wallet_moves", row_factory=tuple_row, binary=True) as cursor:
                    cursor.execute(statement, (list(topics), LAST if stop is None else stop))
                    while page := cursor.fetchmany(ROWS_A_FETCH):
                        yield page

        with closing(read_ahead(pages)) as read:  # the reading thread stopped at once, not when collected
            for page in read:
                yield from map(wallet_move, page)


PAGES_AHEAD = 2  # pages fetched and not yet decoded, at most (10,000 rows each)


def read_ahead(pages: Callable[[], Generator[list[Any]]]) -> Generator[list[Any]]:
    """The pages `pages()` reads, read on a thread of its own at most PAGES_AHEAD ahead of the caller: the store
    scans for and sends the next page (psycopg waits for it without the GIL) while the caller decodes and folds
    this one, instead of each waiting for the other. Read to the end, failed or closed early, the reading
    thread stops, its reading closed there (the transaction ended, the connection given back), before this ends."""
    handed: queue.Queue[list[Any] | BaseException | None] = queue.Queue(maxsize=PAGES_AHEAD)
    stopped = threading.Event()

    def read() -> None:
        try:
            with closing(pages()) as reading:
                for page in reading:
                    if not _put(handed, page, stopped):
                        return
            _put(handed, None, stopped)
        except BaseException as error:  # handed to the caller, which raises it
            _put(handed, error, stopped)

    reader = threading.Thread(target=read, name="mcpay-wallet-moves", daemon=True)
    reader.start()
    try:
        while (page := handed.get()) is not None:
            if isinstance(page, BaseException):
                raise page
            yield page
    finally:
        stopped.set()
        reader.join()


def _put(pages: queue.Queue[Any], item: Any, stopped: threading.Event) -> bool:
    """Hand `item` to the caller, unless it stopped reading (then False)."""
    while not stopped.is_set():
        try:
            pages.put(item, timeout=0.1)
        except queue.Full:
            continue
        return True
    return False
