"""The fake Stripe server and an mcpay app in live mode pointed at it, for every Stripe test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.fake_stripe import FakeStripe, running_fake_stripe
from tests.integration.stripe_support import StripeApp, stripe_app


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with running_fake_stripe() as running:
        yield running


@pytest.fixture
def app(fake: FakeStripe, sqlite_url: str) -> Iterator[StripeApp]:
    with stripe_app(fake, sqlite_url) as built:
        yield built
