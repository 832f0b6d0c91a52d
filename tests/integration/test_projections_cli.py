"""`mcpay projections rebuild` restores the read model from the log, whatever happened to its rows."""

from __future__ import annotations

import sqlite3

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
