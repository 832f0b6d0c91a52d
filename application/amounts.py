"""Amounts as a request states them: a refusal names the field it came in."""

from __future__ import annotations

from decimal import Decimal

from application.errors import AmountRefused
from domain.errors import InvalidAmount
from domain.money import Money


def stated_amount(field: str, value: Decimal | str | int, currency: str) -> Money:
    """`value` in `currency`, by the domain's rules (ASCII decimal text, positive, the currency's precision)."""
    try:
        return Money.of(value, currency)
    except InvalidAmount as error:
        raise AmountRefused(f"{field}: {error}") from None
