"""The one translation of the event store's errors into the application's (the ledger's and the identity store's).

Retries and refusals are decided on `ConcurrentChange` and `StoreUnavailable`; the library's exceptions stay
inside the stores and their adapters. The library's text (tables, keys, values) stays on the chained cause, for
the log; the message is one a client may read (ADR 52)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from eventsourcing.persistence import IntegrityError, OperationalError

from application.errors import ConcurrentChange, StoreUnavailable


@contextmanager
def store_errors(store: str) -> Iterator[None]:
    """Within it, the store's refusal of a change is a `ConcurrentChange` and its absence `StoreUnavailable`."""
    try:
        yield
    except IntegrityError as error:
        raise ConcurrentChange(
            f"another change to the same records was saved first in the {store}: try again"
        ) from error
    except OperationalError as error:
        raise StoreUnavailable(f"the {store} cannot be reached right now: try again shortly") from error
