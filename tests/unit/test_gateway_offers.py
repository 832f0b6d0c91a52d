"""The product's rules for what each gateway is offered for, applied to the settings."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from adapters.bank import BankAccount
from entrypoints.gateway_offers import DEMO_BANK, bank_account, bank_offer, clickpesa_offer, stripe_offer
from entrypoints.settings import Settings

pytestmark = pytest.mark.unit

RATES = {"USD": Decimal(1), "EUR": Decimal("1.08"), "JPY": Decimal("0.0067")}


def test_stripe_takes_every_rated_currency_from_the_card_minimum_up_to_its_own_limit() -> None:
    offer = stripe_offer(Settings(credit_rates=RATES, demo_payment=False))

    assert offer.currencies == ("USD", "EUR", "JPY")
    assert offer.min_amounts == {"USD": Decimal("0.50"), "EUR": Decimal("0.47"), "JPY": Decimal(75)}
    assert offer.max_amounts == {"USD": Decimal("999999.99"), "EUR": Decimal("999999.99"), "JPY": Decimal(99999999)}
    assert offer.demo is False


def test_clickpesa_takes_only_its_own_currencies_of_those_rated() -> None:
    offer = clickpesa_offer(Settings(credit_rates=RATES))

    assert (offer.currencies, offer.min_amounts, offer.demo) == (("USD",), {"USD": Decimal("0.50")}, True)


def test_a_bank_transfer_starts_at_bank_min_amount_in_usd() -> None:
    offer = bank_offer(Settings(credit_rates=RATES, bank_min_amount=Decimal(100)))

    assert offer.min_amounts == {"USD": Decimal("100.00"), "EUR": Decimal("92.60"), "JPY": Decimal(14926)}


def test_the_demo_bank_stands_in_only_in_demo_mode_and_only_for_an_account_not_named_in_full() -> None:
    live = Settings(demo_payment=False, bank_name="B", bank_account_name="A", bank_account_number="1")

    assert bank_account(live) is None
    assert bank_account(replace(live, bank_swift_code="S")) == BankAccount("B", "A", "1", "S")
    assert bank_account(replace(live, demo_payment=True)) == DEMO_BANK
    assert bank_account(Settings()) == DEMO_BANK
