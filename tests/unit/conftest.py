from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.persistence import persistence_env
from application.ledger import Ledger


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    """An event-sourced ledger held in memory (POPO)."""
    app = Ledger(env=persistence_env("memory:"))
    yield app
    app.close()
