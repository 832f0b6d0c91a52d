from __future__ import annotations

import re
from decimal import Decimal, localcontext
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import CurrencyMismatch, InvalidAmount, UnsupportedCurrency
from domain.money import CREDITS, Money, credits, credits_for, share_of

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "expected"),
    [("25.50", "25.50"), ("25.5", "25.50"), ("007", "7.00"), (25, "25.00"), (Decimal("25.5"), "25.50")],
)
def test_of_accepts_decimal_strings_integers_and_decimals(value: Decimal | str | int, expected: str) -> None:
    money = Money.of(value, "USD")
    assert str(money.amount) == expected
    assert money.currency == "USD"


def test_of_quantizes_to_the_currency_minor_unit() -> None:
    assert str(Money.of("25", "USD").amount) == "25.00"
    assert str(Money.of(7, "EUR").amount) == "7.00"
    assert str(Money.of(Decimal("0.5"), CREDITS).amount) == "0.50"


def test_zero_decimal_currencies_keep_whole_units() -> None:
    assert str(Money.of("500", "JPY").amount) == "500"


def test_of_upper_cases_the_currency() -> None:
    assert Money.of("1", "usd").currency == "USD"


@pytest.mark.parametrize("value", [1.5, 0.1, True, False, None, [1]])
def test_of_refuses_what_is_not_a_decimal_string_or_integer(value: Any) -> None:
    with pytest.raises(InvalidAmount):
        Money.of(value, "USD")


@pytest.mark.parametrize("value", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", Decimal("NaN"), Decimal("Infinity")])
def test_of_refuses_nan_and_infinity(value: Decimal | str) -> None:
    with pytest.raises(InvalidAmount):
        Money.of(value, "USD")


@pytest.mark.parametrize("value", ["", "abc", "1,00", "1.2.3", "$5"])
def test_of_refuses_text_that_is_not_a_number(value: str) -> None:
    with pytest.raises(InvalidAmount):
        Money.of(value, "USD")


@pytest.mark.parametrize(
    "value",
    [
        "1_000",  # Decimal reads it as 1000
        "\u0661\u0662",  # Arabic-Indic digits: Decimal reads 12
        "\uff11\uff12",  # fullwidth digits
        " 25.5 ",
        "25.5\n",
        "\t25",
        "+5",
        "1e3",
        "1E+3",
        ".5",
        "5.",
        "0x10",
        "25.00\u200b",  # a zero-width space
    ],
)
def test_of_refuses_text_other_than_ascii_digits_and_an_optional_fraction(value: str) -> None:
    with pytest.raises(InvalidAmount, match="is not a decimal number"):
        Money.of(value, "USD")


@given(st.text(alphabet=st.sampled_from("0123456789.-+_ eE\u0661\uff11\u00a0\n"), max_size=12))
def test_of_accepts_text_only_in_the_plain_ascii_grammar(text: str) -> None:
    try:
        money = Money.of(text, "USD")
    except InvalidAmount:
        return
    assert re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?", text), f"{text!r} was accepted"
    assert money.amount == Decimal(text)


@pytest.mark.parametrize("value", ["-1", -1, "-0.01", Decimal("-5")])
def test_of_refuses_negative_amounts(value: Decimal | str | int) -> None:
    with pytest.raises(InvalidAmount):
        Money.of(value, "USD")


@pytest.mark.parametrize("value", ["0", 0, "0.00", Decimal("-0")])
def test_of_refuses_zero(value: Decimal | str | int) -> None:
    with pytest.raises(InvalidAmount, match="greater than zero"):
        Money.of(value, "USD")


@pytest.mark.parametrize(("value", "currency"), [("1.001", "USD"), ("0.001", CREDITS), ("10.5", "JPY")])
def test_of_refuses_more_fraction_digits_than_the_currency_has(value: str, currency: str) -> None:
    with pytest.raises(InvalidAmount, match="decimal places"):
        Money.of(value, currency)


@pytest.mark.parametrize("currency", ["XYZ", "", "usdollar", "BTC"])
def test_of_refuses_an_unknown_currency(currency: str) -> None:
    with pytest.raises(UnsupportedCurrency):
        Money.of("1", currency)


@pytest.mark.parametrize("value", ["1000000000000", 10**12, "1000000000000.00", Decimal("1e15")])
def test_of_refuses_amounts_of_a_trillion_or_more(value: str | int | Decimal) -> None:
    with pytest.raises(InvalidAmount, match="below"):
        Money.of(value, "USD")


def test_of_accepts_the_largest_amount_below_a_trillion() -> None:
    assert Money.of("999999999999.99", "USD").amount == Decimal("999999999999.99")


def test_zero_is_a_valid_balance_but_not_a_stated_amount() -> None:
    assert Money.zero(CREDITS).amount == Decimal("0.00")
    assert credits(0).amount == Decimal("0.00")


def test_money_is_an_immutable_value() -> None:
    money = Money.of("1", "USD")
    assert money == Money.of("1.00", "USD")
    with pytest.raises(AttributeError):
        money.amount = Decimal(2)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("units", "currency", "amount"), [(2550, "USD", "25.50"), (1, CREDITS, "0.01"), (500, "JPY", "500")]
)
def test_from_minor_and_minor_units_round_trip(units: int, currency: str, amount: str) -> None:
    money = Money.from_minor(units, currency)
    assert money.amount == Decimal(amount)
    assert money.minor_units == units
    assert Money.of(amount, currency).minor_units == units


@given(st.integers(min_value=0, max_value=10**14 - 1))
def test_minor_units_round_trip_for_any_amount(units: int) -> None:
    assert Money.from_minor(units, "USD").minor_units == units


def test_add_and_subtract_in_one_currency() -> None:
    assert Money.of("1.25", "USD") + Money.of("2.50", "USD") == Money.of("3.75", "USD")
    assert Money.of("2.50", "USD") - Money.of("1.25", "USD") == Money.of("1.25", "USD")


def test_subtracting_more_than_there_is_is_refused() -> None:
    with pytest.raises(InvalidAmount, match="negative"):
        Money.of("1", "USD") - Money.of("2", "USD")


def test_compare_in_one_currency() -> None:
    assert Money.of("1", "USD") < Money.of("2", "USD")
    assert Money.of("2", "USD") <= Money.of("2", "USD")
    assert not Money.of("3", "USD") <= Money.of("2", "USD")


def test_mixed_currencies_are_never_combined() -> None:
    usd, eur = Money.of("1", "USD"), Money.of("1", "EUR")
    with pytest.raises(CurrencyMismatch):
        _ = usd + eur
    with pytest.raises(CurrencyMismatch):
        _ = usd - eur
    with pytest.raises(CurrencyMismatch):
        _ = usd < eur
    with pytest.raises(CurrencyMismatch):
        _ = usd <= eur
    assert usd != eur


@pytest.mark.parametrize(
    ("amount", "currency", "rate", "expected"),
    [
        ("50000", "TZS", "0.00037", "18.50"),
        ("1.00", "EUR", "1.08", "1.08"),
        ("0.01", "TZS", "0.00037", "0.00"),
        ("3.33", "USD", "0.333", "1.10"),
        ("25", "USD", "1", "25.00"),
        ("999.99", "TZS", "0.00037", "0.36"),
    ],
)
def test_credits_for_rounds_down_to_a_hundredth_of_a_credit(
    amount: str, currency: str, rate: str, expected: str
) -> None:
    bought = credits_for(Money.of(amount, currency), Decimal(rate))
    assert bought.currency == CREDITS
    assert str(bought.amount) == expected


@pytest.mark.parametrize("rate", ["0", "-1", "NaN", "Infinity"])
def test_credits_for_refuses_a_rate_that_is_not_positive_and_finite(rate: str) -> None:
    with pytest.raises(InvalidAmount, match="rate"):
        credits_for(Money.of("1", "USD"), Decimal(rate))


amounts = st.integers(min_value=1, max_value=10**9).map(lambda units: Money.from_minor(units, "USD"))
rates = st.one_of(
    st.integers(min_value=1, max_value=10**8).map(lambda n: Decimal(n).scaleb(-6)),
    st.tuples(st.integers(min_value=1, max_value=10**30), st.integers(min_value=26, max_value=40)).map(
        lambda digits_scale: Decimal(digits_scale[0]).scaleb(-digits_scale[1])
    ),
)


def exact_product(paid: Money, rate: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = 100
        return paid.amount * rate


@given(amounts, rates)
def test_credits_for_loses_less_than_a_hundredth_and_never_gives_extra(paid: Money, rate: Decimal) -> None:
    exact = exact_product(paid, rate)
    bought = credits_for(paid, rate).amount
    assert bought <= exact
    assert exact - bought < Decimal("0.01")


def test_credits_for_rounds_down_even_when_the_product_is_longer_than_the_decimal_context() -> None:
    paid = Money.of("1000000.01", "USD")
    rate = Decimal("0.0000184999998150000018499999814999991850")  # buys 18.4999...999 MC
    assert exact_product(paid, rate) < Decimal("18.50")
    assert credits_for(paid, rate).amount == Decimal("18.49")


def test_share_of_scales_by_part_over_whole_rounding_down() -> None:
    total = credits("10.00")
    assert share_of(total, Money.of("1", "USD"), Money.of("3", "USD")) == credits("3.33")
    assert share_of(total, Money.of("1.50", "USD"), Money.of("3", "USD")) == credits("5.00")


def test_share_of_the_whole_is_the_total() -> None:
    total = credits("18.50")
    assert share_of(total, Money.of("50000", "TZS"), Money.of("50000", "TZS")) == total


@pytest.mark.parametrize(("part", "whole"), [("4", "3"), ("1", "0")])
def test_share_of_refuses_a_part_outside_a_non_zero_whole(part: str, whole: str) -> None:
    with pytest.raises(InvalidAmount):
        share_of(credits("10"), credits(part), credits(whole))


def test_share_of_refuses_part_and_whole_in_different_currencies() -> None:
    with pytest.raises(CurrencyMismatch):
        share_of(credits("10"), Money.of("1", "USD"), Money.of("2", "EUR"))
