"""The read side's asyncpg pool hands connections back without asyncpg's reset round trip (ADR 44), and still
no session state passes from one checkout to the next: the pooled reads leave none, and a transaction left
open is rolled back on release, as asyncpg does without a round trip."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from adapters.read_side.asyncpg_queries import connect_kwargs, keep_session
from adapters.read_side.postgres import PostgresPlace
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.settings import Settings
from tests.integration.support import SESSION_SECRET

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def place(postgres_url: str) -> Iterator[PostgresPlace]:
    services: Services = bootstrap(Settings(database_url=postgres_url, session_secret=SESSION_SECRET))
    yield PostgresPlace.of(services.ledger.recorder, services.ledger.name)
    services.close()


def last_statement_after_release(place: PostgresPlace, **pool_options: Any) -> str:
    """What PostgreSQL last ran on a pooled connection once a read has handed it back."""

    async def run() -> str:
        pool = await asyncpg.create_pool(**connect_kwargs(place), min_size=1, max_size=1, **pool_options)
        try:
            backend = await pool.fetchval("SELECT pg_backend_pid() /* the read */")
            observer = await asyncpg.connect(**connect_kwargs(place))
            try:
                query: str = await observer.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", backend)
            finally:
                await observer.close()
            return query
        finally:
            await pool.close()

    return asyncio.run(run())


def test_a_released_connection_costs_no_round_trip(place: PostgresPlace) -> None:
    assert "the read" in last_statement_after_release(place, reset=keep_session)
    assert "RESET ALL" in last_statement_after_release(place)  # asyncpg's own reset: one more statement


def test_a_transaction_left_open_does_not_reach_the_next_checkout(place: PostgresPlace) -> None:
    async def run() -> tuple[bool, bool, str]:
        pool = await asyncpg.create_pool(**connect_kwargs(place), min_size=1, max_size=1, reset=keep_session)
        try:
            async with pool.acquire() as connection:
                await connection.execute("BEGIN; SET LOCAL statement_timeout = '1234ms'")
                left_open = connection.is_in_transaction()
            async with pool.acquire() as connection:
                return left_open, connection.is_in_transaction(), await connection.fetchval("SHOW statement_timeout")
        finally:
            await pool.close()

    left_open, still_open, timeout = asyncio.run(run())
    assert left_open and not still_open and timeout != "1234ms"
