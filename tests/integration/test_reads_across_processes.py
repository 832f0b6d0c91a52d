"""Two `mcpay serve` processes on one PostgreSQL, each answering reads from its own memory: a session ended
through one is refused by the other, and a wallet credited through one is fresh in the other, within the time a
NOTIFY takes to cross (ADR 44's bound)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.serve_processes import Served, initiate, serve_env, serving, sign_in
from tests.integration.test_two_api_processes import balance, pay
from tests.processes import free_port

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.slow]

BOUND_SECONDS = 1.0  # ADR 44: how long another process may still honour an ended session or a wallet's last answer


@pytest.fixture
def servers(postgres_url: str, tmp_path: Path) -> Iterator[list[Served]]:
    envs = [serve_env(postgres_url, free_port(), "http://127.0.0.1:9", DEMO_PAYMENT="true") for _ in range(2)]
    with serving(envs, tmp_path) as served:
        yield served


def me(url: str, auth: dict[str, str]) -> int:
    return httpx.get(f"{url}/api/auth/me", headers=auth, timeout=10).status_code


def seconds_until(holds: Callable[[], bool]) -> float:
    """How long until `holds()` (asked again and again); fails past twice the bound."""
    started = time.monotonic()
    while not holds():
        assert time.monotonic() - started < 2 * BOUND_SECONDS, "still not so, twice the bound later"
        time.sleep(0.002)
    return time.monotonic() - started


def test_a_session_ended_in_one_process_is_refused_by_the_other_within_the_bound(servers: list[Served]) -> None:
    first, second = servers
    auth = sign_in(first.url)
    assert me(first.url, auth) == me(second.url, auth) == 200  # each has checked the token and keeps it
    assert httpx.delete(f"{first.url}/api/auth/session", headers=auth, timeout=10).status_code == 204
    assert me(first.url, auth) == 401  # here: at once
    assert seconds_until(lambda: me(second.url, auth) == 401) < BOUND_SECONDS
    assert me(second.url, auth) == 401  # and for good
    other = sign_in(second.url)
    assert me(first.url, other) == me(second.url, other) == 200  # another session is untouched


def test_a_wallet_credited_through_one_process_is_fresh_in_the_other_within_the_bound(servers: list[Served]) -> None:
    first, second = servers
    auth = sign_in(first.url)
    assert balance(second.url, auth) == balance(second.url, auth) == "0.00"  # read, then answered from memory
    payment = initiate(first.url, auth, "25.00")
    pay(first.url, payment)  # answered once the read model holds the credit
    assert balance(first.url, auth) == "25.00"
    assert seconds_until(lambda: balance(second.url, auth) == "25.00") < BOUND_SECONDS
    later = initiate(second.url, auth, "5.00")
    pay(second.url, later)
    assert balance(second.url, auth) == "30.00"  # its own write: read through, never a kept answer
    assert seconds_until(lambda: balance(first.url, auth) == "30.00") < BOUND_SECONDS
