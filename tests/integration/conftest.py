"""Fixtures for the integration tier: services bootstrapped on a real store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from entrypoints.bootstrap import Services, bootstrap
from entrypoints.settings import Settings
from tests.integration.support import SESSION_SECRET


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    """Services on each store in turn (memory, SQLite, PostgreSQL), closed afterwards."""
    built = bootstrap(Settings(database_url=database_url, session_secret=SESSION_SECRET))
    yield built
    built.close()
