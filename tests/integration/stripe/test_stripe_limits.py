"""Stripe's own limit (8 digits in its units) is checked before Stripe is called: 422, nothing recorded."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.integration.fake_stripe import FakeStripe
from tests.integration.stripe_support import StripeApp, stripe_app
from tests.integration.support import last_position

pytestmark = pytest.mark.integration

RATES = {"USD": Decimal(1), "JPY": Decimal("0.0067"), "UGX": Decimal("0.00027")}


@pytest.fixture
def limited(fake: FakeStripe, sqlite_url: str) -> Iterator[StripeApp]:
    with stripe_app(fake, sqlite_url, credit_rates=RATES) as app:
        yield app


def test_the_gateways_list_states_stripes_maximum_in_each_currency(limited: StripeApp) -> None:
    [stripe] = [offer for offer in limited.client.get("/api/payments/gateways").json() if offer["name"] == "stripe"]
    assert stripe["max_amount"] == {"USD": "999999.99", "JPY": "99999999", "UGX": "999999"}  # UGX: Stripe takes x100
    assert set(stripe) >= {"name", "currencies", "min_amount", "demo"}


@pytest.mark.parametrize(("amount", "currency"), [("1000000.00", "USD"), ("100000000", "JPY"), ("1000000", "UGX")])
def test_more_than_stripe_takes_is_a_422_before_stripe_is_called_and_nothing_is_recorded(
    limited: StripeApp, amount: str, currency: str
) -> None:
    position = last_position(limited.services.ledger)

    answer = limited.initiate(amount, currency)

    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("the maximum for stripe is ")
    assert limited.fake.requests == []  # no request reached the fake Stripe server
    assert last_position(limited.services.ledger) == position
    assert limited.client.get("/api/payments", headers=limited.auth).json()["items"] == []


def test_the_largest_amount_stripe_takes_opens_a_session_of_eight_digits(limited: StripeApp) -> None:
    answer = limited.initiate("999999.99", "USD")

    assert answer.status_code == 201, answer.text
    [created] = limited.fake.created()
    assert created.form["line_items[0][price_data][unit_amount]"] == "99999999"
