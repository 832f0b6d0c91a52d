"""Snapshots on SQLite and PostgreSQL: loads through them equal full replays; over HTTP a long-lived wallet is
loaded from its snapshot, by a restarted service too, and the auditor's export holds events only."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from litestar.testing import TestClient
from nacl.signing import SigningKey

from adapters.persistence import persistence_env, sqlite_file
from application.replay import check_balances
from domain.indexes import PaymentReference
from domain.money import Money
from domain.wallet import Wallet
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.cli import main
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.support import SESSION_SECRET, sign_in
from tests.snapshot_histories import (
    HISTORIES,
    History,
    OftenSnapshotted,
    Step,
    check_loads_through_snapshots,
    replayed,
    state,
)

pytestmark = pytest.mark.integration

AUDITOR = SigningKey(b"\x0c" * 32)
PAYMENTS = 12  # past the production interval of 10 events (the wallet's opening is one)


@pytest.fixture
def ledger(store_url: str) -> Iterator[OftenSnapshotted]:
    built = OftenSnapshotted(env=persistence_env(store_url))
    yield built
    built.close()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=HISTORIES)
def test_loads_through_stored_snapshots_equal_full_replays(ledger: OftenSnapshotted, steps: list[Step]) -> None:
    history = History(ledger)  # fresh ids: the examples share the store
    history.play(steps)
    check_loads_through_snapshots(ledger, history.aggregate_ids())


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=HISTORIES)
def test_a_batched_load_reads_what_a_full_replay_does(ledger: OftenSnapshotted, steps: list[Step]) -> None:
    history = History(ledger)
    history.play(steps)
    claims = [PaymentReference.create_id(card.reference) for card in history.cards]
    absent = [uuid4(), Wallet.create_id(uuid4().hex * 2)]
    ids = [*history.aggregate_ids(), *claims, *absent]
    last = {i: list(ledger.events.get(i, desc=True, limit=1)) for i in ids}
    heads = {i: events[0].originator_version for i, events in last.items() if events}  # wallets never credited: none

    versions, loaded = ledger.current(ids, {})
    assert versions == heads
    assert {i: state(aggregate) for i, aggregate in loaded.items()} == {i: state(replayed(ledger, i)) for i in heads}

    # What a cache holds at the current version is not read again; what it holds at another version is.
    ordered = sorted(heads)
    kept = {i: heads[i] for i in ordered[::2]} | {i: heads[i] - 1 for i in ordered[1::2]}
    versions, loaded = ledger.current(ids, kept)
    assert versions == heads
    assert sorted(loaded) == ordered[1::2]
    assert {i: state(aggregate) for i, aggregate in loaded.items()} == {i: state(replayed(ledger, i)) for i in loaded}


def test_snapshots_live_in_their_own_table(store_url: str, ledger: OftenSnapshotted) -> None:
    history = History(ledger)
    history.play([Step("paid", 0, 1), Step("paid", 1, 1), Step("refund", 0, 100), Step("refund", 1, 200)])
    wallet_id = Wallet.create_id(history.users[0])
    assert snapshot_versions(store_url, wallet_id.hex) == [3]  # opened, two top-ups: the interval is 3
    assert check_loads_through_snapshots(ledger, history.aggregate_ids()) > 0

    run_sql(store_url, "DELETE FROM {table}")  # emptied while the ledger runs: loads replay whole histories
    assert snapshot_versions(store_url, wallet_id.hex) == []
    for aggregate_id in history.aggregate_ids():
        if list(ledger.events.get(aggregate_id, limit=1)):  # the second user's wallet may never have opened
            assert state(ledger.repository.get(aggregate_id)) == state(replayed(ledger, aggregate_id))


def test_a_save_snapshots_the_object_in_hand_unless_it_passed_the_interval(
    store_url: str, ledger: OftenSnapshotted, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallet = Wallet(user_id=uuid4().hex * 2)
    reads: list[Any] = []
    read = ledger.repository.get

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(args)
        return read(*args, **kwargs)

    monkeypatch.setattr(ledger.repository, "get", counted)

    def save_top_ups(count: int) -> None:
        for _ in range(count):
            wallet.top_up(uuid4(), Money(Decimal("5.00"), "MC"), gateway="stripe")
        ledger.save(wallet)

    save_top_ups(2)  # opened and two top-ups: version 3, the interval, in hand
    save_top_ups(3)  # version 6, again the save's last
    assert reads == []
    save_top_ups(4)  # versions 7 to 10 pass 9: the state at 9 is read back, as the library does

    assert reads == [(wallet.id,)]
    assert snapshot_versions(store_url, wallet.id.hex) == [3, 6, 9]
    assert check_loads_through_snapshots(ledger, [wallet.id]) > 0


@pytest.fixture
def audited(database_url: str) -> Iterator[Services]:
    built = bootstrap(audited_settings(database_url))
    yield built
    built.close()


def audited_settings(database_url: str) -> Settings:
    auditors = frozenset({AUDITOR.verify_key.encode().hex()})
    return Settings(database_url=database_url, session_secret=SESSION_SECRET, auditor_public_keys=auditors)


def test_a_wallet_of_many_top_ups_loads_from_its_snapshot_and_the_export_holds_events_only(
    database_url: str, audited: Services, tmp_path: Any
) -> None:
    with TestClient(create_app(audited)) as client:
        user = sign_in(client)
        for _ in range(PAYMENTS):
            body = {"amount": "2.50", "currency": "USD", "gateway": "stripe"}
            payment = client.post("/api/payments/initiate", json=body, headers=user.auth).json()
            assert client.post(f"/demo/checkout/{payment['payment_id']}/pay", follow_redirects=False).is_redirect
        wallet = client.get("/api/wallet", headers=user.auth).json()
        export = client.get("/api/audit/export", headers=sign_in(client, AUDITOR).auth).text
        owner = user.key.verify_key.encode().hex()
        snapshots = audited.ledger.snapshots
        assert snapshots is not None
        assert [s.originator_version for s in snapshots.get(Wallet.create_id(owner))] == [10]

    assert (wallet["balance"], len(wallet["transactions"])) == ("30.00", PAYMENTS)
    lines = export.splitlines()
    assert [line for line in lines if "Snapshot" in json.loads(line)["type"]] == []
    (tmp_path / "export.ndjson").write_text(export, encoding="utf-8")
    key = json.loads(lines[-1])["public_key"]
    assert main(["ledger", "verify", str(tmp_path / "export.ndjson"), "--public-key", key, "--no-progress"]) == 0
    if database_url != "memory:":
        restarted = bootstrap(audited_settings(database_url))
        try:
            loaded = restarted.ledger.wallet_of(owner)
            assert loaded is not None and (loaded.balance, loaded.version) == (Decimal("30.00"), PAYMENTS + 1)
            assert all(check.agrees for check in check_balances(restarted.ledger))
        finally:
            restarted.close()


def snapshot_versions(url: str, aggregate_id: str) -> list[int]:
    """The versions in the store's `ledger_snapshots` table for one aggregate, read with plain SQL."""
    rows = run_sql(url, "SELECT originator_version FROM {table} WHERE originator_id = ? ORDER BY 1", aggregate_id)
    return [row[0] for row in rows]


def run_sql(url: str, statement: str, *params: str) -> list[Any]:
    """A statement on the store's snapshot table (`{table}` in it), `?` for parameters."""
    path = sqlite_file(url)
    if path is not None:
        with sqlite3.connect(path) as connection:
            return connection.execute(statement.format(table="ledger_snapshots"), params).fetchall()
    schema = parse_qs(urlsplit(url).query)["schema"][0]
    with psycopg.connect(url.split("?")[0]) as connection:
        query = statement.format(table=f'"{schema}".ledger_snapshots').replace("?", "%s")
        cursor = connection.execute(query.encode(), params)
        return cursor.fetchall() if cursor.description else []
