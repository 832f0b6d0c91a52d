"""Amounts in requests (API.md, Conventions): a decimal string or a JSON number, and the schema that says so.

A string must be plain decimal text (`"25"`, `"25.5"`, `"25.00"`): no sign, exponent, spaces or leading zeros, at
most two fraction digits. The schema states exactly which amounts are taken, minimums included, so that a client
(or a fuzzer) can tell a valid request from an invalid one without asking.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from application.errors import Invalid
from domain.money import LARGEST_AMOUNT

PLACES = 2
INTEGER_DIGITS = len(str(int(LARGEST_AMOUNT))) - 1  # amounts stay below LARGEST_AMOUNT (1e12): 12 digits
DECIMAL_TEXT = re.compile(rf"(0|[1-9][0-9]*)(\.[0-9]{{1,{PLACES}}})?")
# Plain decimal text but for a sign or too many places, NaN, Infinity: Money refuses these, saying why.
REFUSED_BY_MONEY = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?|NaN|-?Infinity")

AmountInput = str | int | float


def amount_of(value: AmountInput) -> Decimal | str | int:
    """The amount as `Money.of` takes it; a string that is not plain decimal text is refused."""
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest text that reads back as this float: the number as sent
    if isinstance(value, str) and not (DECIMAL_TEXT.fullmatch(value) or REFUSED_BY_MONEY.fullmatch(value)):
        raise Invalid(f'amounts are decimal strings such as "25.00" or JSON numbers, not {value!r}')
    return value


def amount_schema(minimum: Decimal | None = None, places: int = PLACES) -> dict[str, Any]:
    """A JSON schema for the amounts of `places` decimal places from `minimum` (default: the smallest positive
    one) up to, not including, 1e12."""
    smallest = Decimal(1).scaleb(-places)
    floor = max(minimum or smallest, smallest)
    step: dict[str, Any] = {"multipleOf": float(smallest)} if places else {"type": "integer"}
    return {
        "oneOf": [
            {"type": "string", "pattern": f"^{decimal_at_least(floor, places)}$", "example": format(floor, "f")},
            {"type": "number", "minimum": float(floor), "exclusiveMaximum": float(LARGEST_AMOUNT), **step},
        ],
        "description": f"A decimal string or a JSON number, at least {floor}, at most {places} decimal places.",
    }


def decimal_at_least(minimum: Decimal, places: int = PLACES) -> str:
    """A regular expression for the plain decimal texts of at most `places` decimal places whose value is at least
    `minimum` (and below 1e12)."""
    whole, _, fraction = format(minimum.quantize(Decimal(1).scaleb(-places)), "f").partition(".")
    any_fraction = rf"(?:\.[0-9]{{1,{places}}})?" if places else ""
    above = [f"{pattern}{any_fraction}" for pattern in _integers_above(whole)]
    equal = f"{whole}{any_fraction}" if set(fraction) <= {"0"} else rf"{whole}\.{_fraction_at_least(fraction)}"
    return "(?:" + "|".join([*above, equal]) + ")"


def _integers_above(whole: str) -> list[str]:
    """Patterns for the integers above `whole` (no leading zeros, at most INTEGER_DIGITS digits)."""
    length = len(whole)
    longer = [f"[1-9][0-9]{{{length},{INTEGER_DIGITS - 1}}}"] if length < INTEGER_DIGITS else []
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
