"""Run as a process: project the log in small batches and die (`os._exit`) inside a batch's transaction, after
its rows are written and before its position and commit: `python -m tests.integration.projection_crash URL`."""

from __future__ import annotations

import os
import sys
from typing import Any

from adapters.read_side.sqlite import LocalLease
from application.projection import Projector
from tests.integration.read_side_support import read_side_services

CRASHED = 75
BATCH = 7
CRASH_IN_BATCH = 3


def main(database_url: str) -> int:
    services = read_side_services(database_url)
    store: Any = services.read_side.projector.store
    write_rows = store._write
    batches = 0

    def write_then_die(cursor: Any, batch: Any) -> None:
        nonlocal batches
        write_rows(cursor, batch)
        batches += 1
        if batches == CRASH_IN_BATCH:
            os._exit(CRASHED)

    store._write = write_then_die
    Projector(services.ledger, store, LocalLease(), batch_size=BATCH).run_once()
    return 0  # it should not get here


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
