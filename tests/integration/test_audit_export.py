"""The signed export on every store: export, verify offline, and catch history rewritten in the database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg
import pytest

from adapters.identity import Ed25519Signatures
from application.admin import Receipt
from application.audit.verify import verify_export
from application.payments import TopUpOrder
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.cli import main
from entrypoints.settings import Settings
from tests.audit_support import ALICE, BOB, pay, refund
from tests.integration.support import SESSION_SECRET

pytestmark = pytest.mark.integration

ADMIN = "ad" * 32


def test_an_export_verifies_offline_and_rebuilds_the_balances_of_every_store(
    services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payment = pay(services.payments, ALICE, "25.00")
    pay(services.payments, BOB, "12.34", "EUR")
    refund(services.payments, payment, "5.00")
    services.audit.record_checkpoint()
    pay(services.payments, ALICE, "1.50")
    export = tmp_path / "ledger.ndjson"
    export.write_text("".join(services.audit.export()), encoding="utf-8")
    key = services.audit.public_key
    assert key is not None

    assert main(["ledger", "verify", str(export), "--public-key", key]) == 0

    out = capsys.readouterr().out
    assert f"{ALICE}           21.50" in out
    assert f"{BOB}           13.32" in out
    assert "verified: " in out
    assert "1 checkpoints" in out
    assert services.audit.balances().balances == {ALICE: Decimal("21.50"), BOB: Decimal("13.32")}


def test_admin_desk_credits_verify_too(services: Services) -> None:
    """A bank transfer credited for what arrived (more than initiated), by an admin: credits follow the approval."""
    order = TopUpOrder("1000.00", "USD", "bank")
    transfer = services.payments.initiate(ALICE, order).payment
    rejected = services.payments.initiate(BOB, order).payment
    services.admin.confirm(ADMIN, transfer.payment_id, Receipt("1200.00", "USD", "statement line 4", True))
    services.admin.reject(ADMIN, rejected.payment_id, "no such transfer on the statement")

    result = verify_export(services.audit.export(), services.audit.public_key or "", Ed25519Signatures())

    assert result.ok, result.problem
    assert result.balances == {ALICE: Decimal("1200.00")}


@pytest.fixture(params=["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)])
def stored_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


@pytest.fixture
def stored(stored_url: str) -> Iterator[Services]:
    built = bootstrap(Settings(database_url=stored_url, session_secret=SESSION_SECRET))
    yield built
    built.close()


def test_a_checkpoint_reveals_an_event_rewritten_in_the_database(stored: Services, stored_url: str) -> None:
    payment = pay(stored.payments, ALICE, "25.00")
    checkpoint = stored.audit.record_checkpoint()
    assert checkpoint is not None
    pay(stored.payments, BOB, "3.00")

    forged = "MCREWRITTEN0" + payment.reference[12:]
    assert _rewrite_stored_events(stored_url, payment.reference.encode(), forged.encode()) > 0
    result = verify_export(stored.audit.export(), stored.audit.public_key or "", Ed25519Signatures())

    assert result.problem is not None
    assert result.problem.message.startswith(
        f"the checkpoint vouched for hash {checkpoint.head_hash} at position {checkpoint.position}, but"
    )
    assert result.problem.message.endswith("the history up to that position was rewritten")


def _rewrite_stored_events(url: str, old: bytes, new: bytes) -> int:
    """What someone with write access to the database could do: edit stored events in place."""
    assert len(old) == len(new)
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        with sqlite3.connect(parts.path) as connection:
            rows = connection.execute("SELECT rowid, state FROM ledger_events").fetchall()
            changed = [(bytes(state).replace(old, new), rowid) for rowid, state in rows if old in bytes(state)]
            connection.executemany("UPDATE ledger_events SET state = ? WHERE rowid = ?", changed)
        return len(changed)
    table = f'"{parse_qs(parts.query)["schema"][0]}".ledger_events'
    with psycopg.connect(urlunsplit(parts._replace(query="")), autocommit=True) as connection:
        rows = connection.execute(f"SELECT notification_id, state FROM {table}").fetchall()  # noqa: S608
        changed = [(bytes(state).replace(old, new), row_id) for row_id, state in rows if old in bytes(state)]
        for state, row_id in changed:
            connection.execute(f"UPDATE {table} SET state = %s WHERE notification_id = %s", (state, row_id))  # noqa: S608
    return len(changed)
