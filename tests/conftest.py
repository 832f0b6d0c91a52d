"""Stores for tests: memory (POPO), a SQLite file, and PostgreSQL in a schema of its own."""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.processes import fresh_schema

POSTGRES_SKIP_REASON = "no PostgreSQL: set TEST_DATABASE_URL (or run Docker for testcontainers)"


def _docker_postgres() -> Iterator[str | None]:
    if shutil.which("docker") is None or not Path("/var/run/docker.sock").exists():
        yield None
        return
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:15", driver=None) as container:
        yield container.get_connection_url()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str | None]:
    """A PostgreSQL URL: TEST_DATABASE_URL, else a testcontainers server, else None."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    yield from _docker_postgres()


@pytest.fixture
def postgres_url(postgres_server: str | None) -> Iterator[str]:
    """A PostgreSQL URL whose tables live in a fresh schema, dropped afterwards."""
    if postgres_server is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    with fresh_schema(postgres_server) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mcpay.sqlite3'}"


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest) -> str:
    """Each store in turn: the same test body runs against POPO, SQLite and PostgreSQL."""
    if request.param == "memory":
        return "memory:"
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each store that outlives its process in turn: a SQLite file, then PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, None]:
    """In CI (CI_REQUIRE_POSTGRES=1) a skipped PostgreSQL test is a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI_REQUIRE_POSTGRES") and item.get_closest_marker("postgres"):
        report.outcome = "failed"
        report.longrepr = f"PostgreSQL test skipped in CI: {report.longrepr}"
