"""The schema's amount patterns take exactly the amounts the service takes: plain decimal text at or above a
minimum, at most two decimal places, below 1e12."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.errors import Invalid
from domain.errors import DomainError
from domain.money import Money
from entrypoints.http.amounts import DECIMAL_TEXT, amount_of, decimal_at_least

MINIMUMS = ["0.01", "0.50", "0.47", "1351.36", "1000.00", "925.93", "2702702.71", "9.99", "99", "0.09", "10.10"]
DECIMAL_TEXTS = st.from_regex(r"\A(0|[1-9][0-9]{0,13})(\.[0-9]{1,3})?\Z").filter(lambda text: "\n" not in text)


def taken(text: str, minimum: Decimal) -> bool:
    if not DECIMAL_TEXT.fullmatch(text):
        return False
    value = Decimal(text)
    return minimum <= value < Decimal("1e12")


@pytest.mark.parametrize("minimum", MINIMUMS)
@given(text=DECIMAL_TEXTS)
def test_the_pattern_takes_a_text_exactly_when_the_service_does(minimum: str, text: str) -> None:
    pattern = re.compile(decimal_at_least(Decimal(minimum)))
    assert bool(pattern.fullmatch(text)) is taken(text, Decimal(minimum))


@pytest.mark.parametrize("minimum", MINIMUMS)
def test_the_minimum_itself_and_its_neighbours(minimum: str) -> None:
    pattern = re.compile(decimal_at_least(Decimal(minimum)))
    floor = Decimal(minimum)
    below, above = floor - Decimal("0.01"), floor + Decimal("0.01")
    assert pattern.fullmatch(minimum) and pattern.fullmatch(str(above)) and pattern.fullmatch("999999999999.99")
    assert not pattern.fullmatch(str(below)) and not pattern.fullmatch("1000000000000")


@pytest.mark.parametrize("text", ["+5", " 5", "5 ", "005", "5.", ".5", "1e3", "5_0", "\u0665", "-05", "0x10", ""])
def test_amount_texts_other_than_plain_decimals_are_refused(text: str) -> None:
    with pytest.raises(Invalid, match="is not a decimal number"):
        amount_of(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-5.00", "non-negative"),
        ("NaN", "not a decimal number"),
        ("-Infinity", "not a decimal number"),
        ("5.001", "2 decimal places"),
    ],
)
def test_plain_decimals_out_of_range_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(DomainError, match=reason):
        Money.of(amount_of(text), "USD")


def test_numbers_are_read_as_the_decimal_they_were_written_as() -> None:
    assert (amount_of(25.5), amount_of(0.07), amount_of(12), amount_of("25.00")) == (
        Decimal("25.5"),
        Decimal("0.07"),
        12,
        "25.00",
    )
