"""A projector killed inside a batch's transaction loses that batch whole; the next one resumes from the last
committed position, and no row is lost or doubled."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from entrypoints.bootstrap import Services
from tests.integration.projection_crash import BATCH, CRASH_IN_BATCH, CRASHED
from tests.integration.read_side_support import movements_in_log, populate, read_side_services, table_rows

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_a_projector_killed_mid_batch_resumes_with_no_row_lost_or_doubled(store_url: str) -> None:
    services = read_side_services(store_url)
    try:
        populate(services)
        events = [notification.id for notification in services.ledger.recorder.select_notifications(0, 10_000)]
    finally:
        services.close()

    crash = subprocess.run(  # noqa: S603 - this interpreter, a module of the test suite
        [sys.executable, "-m", "tests.integration.projection_crash", store_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert crash.returncode == CRASHED, crash.stderr
    crashed = table_rows(store_url)
    committed = events[2 * BATCH - 1]  # two whole batches, then death inside the third
    assert CRASH_IN_BATCH == 3 and dict(crashed["read_tracking"])["Ledger"] == committed
    assert all(row[0] <= committed for row in crashed["read_wallet_entries"])
    assert all(row[-1] <= committed for row in crashed["read_payments"])

    services = read_side_services(store_url)
    try:
        resume_projecting(services, events[-1])
        resumed = table_rows(store_url)
        assert dict(resumed["read_tracking"])["Ledger"] == events[-1]
        assert len(resumed["read_wallet_entries"]) == movements_in_log(services)
        lost_batch = range(committed + 1, events[3 * BATCH - 1] + 1)
        assert any(row[-1] in lost_batch for row in resumed["read_payments"]), "the killed batch had rows to lose"
        services.read_side.projector.rebuild()
        assert table_rows(store_url) == resumed
    finally:
        services.close()


def resume_projecting(services: Services, head: int) -> None:
    """PostgreSQL lets the dead process's lease go as soon as it sees the connection closed."""
    projector = services.read_side.projector
    deadline = time.monotonic() + 10
    while projector.store.position() < head:
        assert time.monotonic() < deadline, "the lease was never released"
        projector.run_once()
        time.sleep(0.05)
