"""Two `mcpay serve` processes on one PostgreSQL: both answer reads, each shows what the other just wrote, one
of them does the projection work, and when that one is killed the other takes it over. Concurrent spends from one
wallet through both take exactly what the balance covers."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from adapters.read_side.postgres import PostgresPlace
from application.replay import ledger_events
from tests.integration.serve_processes import Served, initiate, ledger_at, serve_env, serving, sign_in
from tests.integration.spend_support import spend_body
from tests.integration.support import SignedIn
from tests.integration.support import sign_in as signed_in
from tests.processes import free_port

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.slow]

SPENDS = 16


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """PostgreSQL only: the processes share it."""
    return postgres_url


@pytest.fixture
def servers(database_url: str, tmp_path: Path) -> Iterator[list[Served]]:
    envs = [serve_env(database_url, free_port(), "http://127.0.0.1:9", DEMO_PAYMENT="true") for _ in range(2)]
    with serving(envs, tmp_path) as served:
        yield served


def projecting_pids(database_url: str) -> list[int]:
    """The OS process ids of the sessions holding the read side's advisory lock for this schema."""
    with ledger_at(database_url) as ledger:
        key = PostgresPlace.of(ledger.recorder, ledger.name).lease_key & 0xFFFF_FFFF_FFFF_FFFF
    with psycopg.connect(database_url.split("?", 1)[0]) as connection:
        rows = connection.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid::bigint = %s AND l.objid::bigint = %s",
            (key >> 32, key & 0xFFFF_FFFF),
        ).fetchall()
    return [int(match.group(1)) for (name,) in rows if (match := re.search(r"pid (\d+)", name))]


def pay(url: str, payment: dict[str, Any]) -> None:
    answer = httpx.post(f"{url}/demo/checkout/{payment['payment_id']}/pay", timeout=30)
    assert answer.status_code in (200, 303), answer.text


def watched_while_paid(
    watching: str, paying: str, auth: dict[str, str], payment: dict[str, Any]
) -> tuple[list[str], float]:
    """The statuses one process streams while the payment is paid through the other; how long the change took."""
    statuses: list[str] = []
    paid_at = 0.0
    with httpx.stream("GET", f"{watching}/api/payments/{payment['payment_id']}/events", headers=auth) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                statuses.append(json.loads(line.removeprefix("data:"))["status"])
                if len(statuses) == 1:
                    pay(paying, payment)
                    paid_at = time.monotonic()
    return statuses, time.monotonic() - paid_at


def listed(url: str, auth: dict[str, str]) -> dict[str, str]:
    answer = httpx.get(f"{url}/api/payments", headers=auth, timeout=10)
    assert answer.status_code == 200, answer.text
    return {item["payment_id"]: item["status"] for item in answer.json()["items"]}


def balance(url: str, auth: dict[str, str]) -> str:
    answer = httpx.get(f"{url}/api/wallet", headers=auth, timeout=10)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["balance"])


def assert_projected_exactly_once(database_url: str) -> None:
    schema = database_url.rsplit("schema=", 1)[1]
    with ledger_at(database_url) as ledger:
        credits = Counter(type(event).__name__ for _, event in ledger_events(ledger))["CreditsToppedUp"]
        head = ledger.recorder.max_notification_id()
    counted = f'SELECT count(*), count(DISTINCT position) FROM "{schema}".read_wallet_entries'  # noqa: S608
    tracked = f'SELECT notification_id FROM "{schema}".read_tracking WHERE application_name = %s'  # noqa: S608
    with psycopg.connect(database_url.split("?", 1)[0]) as connection:
        entries = connection.execute(counted)
        tracking = connection.execute(tracked, ("Ledger",))
        assert (*(entries.fetchone() or ()), *(tracking.fetchone() or ())) == (credits, credits, head)


def test_each_process_shows_what_the_other_wrote_one_projects_and_the_other_takes_over(
    servers: list[Served], database_url: str
) -> None:
    first, second = servers
    auth = sign_in(first.url)

    payment = initiate(first.url, auth, "25.00")
    assert listed(second.url, auth) == {payment["payment_id"]: "pending"}
    statuses, arrived_after = watched_while_paid(first.url, second.url, auth, payment)
    assert statuses == ["pending", "confirmed"] and arrived_after < 0.5  # NOTIFY from one process wakes the other
    assert listed(first.url, auth) == {payment["payment_id"]: "confirmed"}
    assert balance(first.url, auth) == balance(second.url, auth) == "25.00"

    holders = projecting_pids(database_url)
    assert len(holders) == 1 and holders[0] in {server.process.pid for server in servers if server.process}
    assert_projected_exactly_once(database_url)

    projecting = next(server for server in servers if server.process and server.process.pid == holders[0])
    survivor = second if projecting is first else first
    projecting.kill()
    later = initiate(survivor.url, auth, "5.00")
    pay(survivor.url, later)

    assert listed(survivor.url, auth) == {payment["payment_id"]: "confirmed", later["payment_id"]: "confirmed"}
    assert balance(survivor.url, auth) == "30.00"
    assert projecting_pids(database_url) == [survivor.process.pid if survivor.process else -1]
    assert_projected_exactly_once(database_url)


def funded(url: str, amount: str) -> SignedIn:
    with httpx.Client(base_url=url, timeout=30) as client:
        user = signed_in(client)
        body = {"amount": amount, "currency": "USD", "gateway": "stripe"}
        payment = client.post("/api/payments/initiate", json=body, headers=user.auth).json()
        paid = client.post(f"/demo/checkout/{payment['payment_id']}/pay")
        assert paid.status_code in (200, 303), paid.text
    return user


def test_concurrent_spends_on_two_processes_take_exactly_what_the_balance_covers(
    servers: list[Served], database_url: str
) -> None:
    user = funded(servers[0].url, "10.00")
    bodies = [(servers[n % 2].url, spend_body(user, "1.50", f"order-{n}")) for n in range(SPENDS)]

    def spend(target: tuple[str, dict[str, str]]) -> httpx.Response:
        url, body = target
        return httpx.post(f"{url}/api/wallet/spends", json=body, headers=user.auth, timeout=60)

    with ThreadPoolExecutor(max_workers=SPENDS) as pool:
        answers = list(pool.map(spend, bodies))

    outcomes = Counter(
        "spent" if answer.status_code == 201 else answer.json().get("type", str(answer.status_code))
        for answer in answers
    )
    assert outcomes == {"spent": 6, "/problems/insufficient-funds": 10}, [a.text for a in answers]
    for server in servers:
        wallet = httpx.get(f"{server.url}/api/wallet", headers=user.auth, timeout=10).json()
        assert (wallet["balance"], wallet["debt"]) == ("1.00", "0.00")
    with ledger_at(database_url) as ledger:
        spent = [event for _, event in ledger_events(ledger) if type(event).__name__ == "CreditsSpent"]
    assert len(spent) == 6
    assert min(event.balance_after for event in spent) == Decimal("1.00")
