"""`mcpay projections rebuild` restores the read model from the log, whatever happened to its rows; `mcpay
projections run` feeds it as the log grows, in a process of its own."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.persistence import persistence_env
from entrypoints.cli import main
from tests.integration.read_side_support import populate, read_side_services, table_rows
from tests.integration.support import SESSION_SECRET

pytestmark = pytest.mark.integration


def test_rebuild_restores_rows_lost_or_damaged_by_hand(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    services = read_side_services(sqlite_url)
    try:
        populate(services)
        services.read_side.projector.run_once()
        head = services.ledger.recorder.max_notification_id()
    finally:
        services.close()
    live = table_rows(sqlite_url)
    with sqlite3.connect(persistence_env(sqlite_url)["SQLITE_DBNAME"]) as connection:
        connection.execute("DELETE FROM read_wallet_entries")
        connection.execute("UPDATE read_payments SET status = 'confirmed'")
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SESSION_SECRET", SESSION_SECRET)

    assert main(["projections", "rebuild"]) == 0

    assert table_rows(sqlite_url) == live
    assert f"at position {head}" in capsys.readouterr().out


@pytest.mark.postgres
def test_run_projects_as_the_log_grows_holds_the_lease_and_stops_on_sigterm(postgres_url: str, tmp_path: Path) -> None:
    log = tmp_path / "projector.log"
    env = {**os.environ, "DATABASE_URL": postgres_url, "SESSION_SECRET": SESSION_SECRET}
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "projections", "run"], env=env, stdout=output, stderr=output
        )
    services = read_side_services(postgres_url)
    try:
        _wait_for(lambda: "now runs the projections" in log.read_text(), process, log)
        populate(services)  # written by another process while it runs
        head = services.ledger.recorder.max_notification_id() or 0
        projector = services.read_side.projector
        _wait_for(lambda: projector.store.position() == head, process, log)

        assert projector.run_once() == 0  # the lease is held by `projections run`: this process leaves it the work
        live = table_rows(postgres_url)
        projector.rebuild()
        assert table_rows(postgres_url) == live  # what it projected is what a rebuild projects

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert f"the read model is at position {head}" in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
        services.close()


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def test_run_on_sqlite_is_refused_with_the_reason(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SESSION_SECRET", SESSION_SECRET)

    assert main(["projections", "run"]) == 2
    assert "projections run needs PostgreSQL" in capsys.readouterr().err
