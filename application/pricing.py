"""Gateway minimums, stated once in USD and carried into each currency through the credit rates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_UP, Decimal

from domain.money import minor_digits


def minimums(usd_minimum: Decimal, rates: Mapping[str, Decimal], currencies: Iterable[str]) -> dict[str, Decimal]:
    """The smallest amount in each currency worth at least `usd_minimum` USD (rounded up)."""
    usd_rate = rates["USD"]
    result = {}
    for currency in currencies:
        exact = usd_minimum * usd_rate / rates[currency]
        result[currency] = exact.quantize(Decimal(1).scaleb(-minor_digits(currency)), rounding=ROUND_UP)
    return result
