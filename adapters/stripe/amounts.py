"""Amounts as Stripe states them: whole numbers of the currency's smallest unit, by Stripe's own rules."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_DOWN, Decimal

from domain.errors import InvalidAmount
from domain.money import MINOR_DIGITS, Money, minor_digits

# Stripe's zero-decimal currencies: an amount is a number of whole units.
ZERO_DECIMAL = frozenset(
    ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"]
)
# UGX is zero-decimal, yet Stripe still takes and reports it times 100, as if it had two decimals.
WHOLE_UNITS = ZERO_DECIMAL - {"UGX"}
LARGEST_UNITS = 99_999_999  # Stripe refuses an amount of more than 8 digits in its units


def charges_in(currency: object) -> bool:
    """Whether mcpay takes payments in this (Stripe, lowercase) currency at all."""
    return isinstance(currency, str) and currency.upper() in MINOR_DIGITS


def stripe_exponent(currency: str) -> int:
    return 0 if currency.upper() in WHOLE_UNITS else 2


def to_stripe_units(price: Money) -> int:
    """The integer Stripe expects for `price` (`unit_amount`, `amount`)."""
    units = price.amount.scaleb(stripe_exponent(price.currency))
    if units != units.to_integral_value():
        raise InvalidAmount(f"{price} cannot be stated in Stripe's units")
    return int(units)


def largest_amounts(currencies: Iterable[str]) -> dict[str, Decimal]:
    """The most Stripe takes in one payment in each currency, at the currency's precision in mcpay."""
    largest = {}
    for currency in currencies:
        units = Decimal(LARGEST_UNITS).scaleb(-stripe_exponent(currency))
        largest[currency] = units.quantize(Decimal(1).scaleb(-minor_digits(currency)), rounding=ROUND_DOWN)
    return largest


def amount_from_stripe(units: object, currency: object) -> Money:
    """An amount Stripe reported (zero allowed, e.g. nothing refunded yet)."""
    if isinstance(units, bool) or not isinstance(units, int) or not isinstance(currency, str):
        raise ValueError(f"{units!r} {currency!r} is not a Stripe amount")
    code = currency.upper()
    amount = Decimal(units) / (10 ** stripe_exponent(code))
    return Money(amount, code)


def money_from_stripe(units: object, currency: object) -> Money:
    """A positive amount Stripe reported (what was paid or charged)."""
    money = amount_from_stripe(units, currency)
    return Money.of(money.amount, money.currency)
