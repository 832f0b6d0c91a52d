"""`with bootstrap(settings) as services:` closes what it built, however the block ends."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from entrypoints.bootstrap import bootstrap
from entrypoints.settings import Settings
from tests.integration.support import SESSION_SECRET
from tests.unit.fakes import FakeGateway


@dataclass
class ClosableGateway(FakeGateway):
    closed: int = 0

    def close(self) -> None:
        self.closed += 1


def test_the_block_closes_the_services_it_built_once_even_when_it_fails(sqlite_url: str) -> None:
    gateway = ClosableGateway()
    settings = Settings(database_url=sqlite_url, session_secret=SESSION_SECRET)

    with pytest.raises(LookupError), bootstrap(settings, gateways={"stripe": gateway}) as services:
        assert services.gateways["stripe"] is gateway and gateway.closed == 0
        raise LookupError("the command failed")

    assert gateway.closed == 1


def test_the_block_hands_over_the_services_and_closes_them_after(sqlite_url: str) -> None:
    gateway = ClosableGateway()
    settings = Settings(database_url=sqlite_url, session_secret=SESSION_SECRET)

    with bootstrap(settings, gateways={"stripe": gateway}) as services:
        assert [offer.name for offer in services.payments.offers()] == ["stripe"]
        assert gateway.closed == 0

    assert gateway.closed == 1
