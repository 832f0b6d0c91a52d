"""Amounts in requests (API.md, Conventions): a decimal string or a JSON number, and the schema that says so.

A string must be plain decimal text (`"25"`, `"25.5"`, `"25.00"`): no sign, exponent, spaces or leading zeros, at
most two fraction digits. The schema states exactly which amounts are taken, minimums included, so that a client
(or a fuzzer) can tell a valid request from an invalid one without asking.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from application.errors import AmountRefused, Malformed
from domain.money import LARGEST_AMOUNT

PLACES = 2
INTEGER_DIGITS = len(str(int(LARGEST_AMOUNT))) - 1  # amounts stay below LARGEST_AMOUNT (1e12): 12 digits
DECIMAL_TEXT = re.compile(rf"(0|[1-9][0-9]*)(\.[0-9]{{1,{PLACES}}})?")
# Plain decimal text but for a sign or too many places, NaN, Infinity: Money refuses these, saying why.
REFUSED_BY_MONEY = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?|NaN|-?Infinity")

# A decimal string or a JSON number. JSON bodies are read with numbers as exact Decimals (JsonBodyRequest), so the
# field is typed Any: a union with float would round them through a float; `amount_of` checks the type.
AmountInput = Any


def amount_of(value: AmountInput, field: str = "amount") -> Decimal | str | int:
    """The amount as `Money.of` takes it; a string that is not plain decimal text is refused (422), a value that is
    neither a string nor a number too (400, like any field of the wrong JSON type)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise Malformed(f"{field}: amounts are decimal strings or JSON numbers, not {type(value).__name__}")
    if isinstance(value, str):
        if not (DECIMAL_TEXT.fullmatch(value) or REFUSED_BY_MONEY.fullmatch(value)):
            raise AmountRefused(
                f"{field}: {value!r} is not a decimal number: write ASCII digits, optionally a '.' and more digits "
                "(e.g. 25.00), with no leading zeros, spaces, '_', '+' or exponent"
            )
        return value
    if isinstance(value, int):
        return value
    # the shortest text that reads back as a float is the number as sent; a Decimal is one read exactly
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        return number
    # A JSON number is its value: 681.0 and 25.50 are 681 and 25.5 (trailing zeros are no fraction digits).
    return number.to_integral_value() if number == number.to_integral_value() else number.normalize()


def amount_schema(
    minimum: Decimal | None = None, places: int = PLACES, maximum: Decimal | None = None
) -> dict[str, Any]:
    """A JSON schema for the amounts of `places` decimal places from `minimum` (default: the smallest positive
    one) up to, not including, 1e12, or up to `maximum` (a gateway's limit: all nines, as Stripe's 8 digits)."""
    smallest = Decimal(1).scaleb(-places)
    floor = max(minimum or smallest, smallest)
    step: dict[str, Any] = {"multipleOf": float(smallest)} if places else {"type": "integer"}
    digits = INTEGER_DIGITS if maximum is None else len(str(int(maximum)))
    ceiling = {"exclusiveMaximum": float(LARGEST_AMOUNT)} if maximum is None else {"maximum": float(maximum)}
    most = "" if maximum is None else f", at most {maximum}"
    return {
        "oneOf": [
            {
                "type": "string",
                "pattern": f"^{decimal_at_least(floor, places, digits)}$",
                "example": format(floor, "f"),
            },
            {"type": "number", "minimum": float(floor), **ceiling, **step},
        ],
        "description": f"A decimal string or a JSON number, at least {floor}{most}, at most {places} decimal places.",
    }


def decimal_at_least(minimum: Decimal, places: int = PLACES, digits: int | None = None) -> str:
    """A regular expression for the plain decimal texts of at most `places` decimal places whose value is at least
    `minimum` (and below 1e12, or of at most `digits` integer digits)."""
    whole, _, fraction = format(minimum.quantize(Decimal(1).scaleb(-places)), "f").partition(".")
    any_fraction = rf"(?:\.[0-9]{{1,{places}}})?" if places else ""
    above = [f"{pattern}{any_fraction}" for pattern in _integers_above(whole, digits or INTEGER_DIGITS)]
    equal = f"{whole}{any_fraction}" if set(fraction) <= {"0"} else rf"{whole}\.{_fraction_at_least(fraction)}"
    return "(?:" + "|".join([*above, equal]) + ")"


def _integers_above(whole: str, digits: int) -> list[str]:
    """Patterns for the integers above `whole` (no leading zeros, at most `digits` digits)."""
    length = len(whole)
    longer = [f"[1-9][0-9]{{{length},{digits - 1}}}"] if length < digits else []
    same_length = [
        whole[:index] + f"[{int(digit) + 1}-9]" + (f"[0-9]{{{length - index - 1}}}" if index < length - 1 else "")
        for index, digit in enumerate(whole)
        if digit != "9"
    ]
    return longer + same_length


def _fraction_at_least(digits: str) -> str:
    """Fraction digits (1 to len(digits) of them) whose value, padded with zeros, is at least `digits`'."""
    if set(digits) <= {"0"}:
        return f"[0-9]{{0,{len(digits)}}}" if digits else ""
    first, rest = int(digits[0]), digits[1:]
    options = [f"[{first + 1}-9][0-9]{{0,{len(rest)}}}"] if first < 9 else []
    options.append(f"{first}{_fraction_at_least(rest)}" if set(rest) - {"0"} else f"{first}[0-9]{{0,{len(rest)}}}")
    return "(?:" + "|".join(options) + ")"
