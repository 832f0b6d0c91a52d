"""Exact amounts of money and of Mycelium Credits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation, localcontext

from domain.errors import CurrencyMismatch, InvalidAmount, UnsupportedCurrency

CREDITS = "MC"
LARGEST_AMOUNT = Decimal("1e12")  # far above any top-up; keeps every amount exact in 28 digits
# How an amount is written as text: ASCII digits, an optional sign and fraction. `Decimal` alone also takes
# "1_000", other scripts' digits, exponents and surrounding whitespace; the contract does not.
DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")

# Digits after the decimal point for each currency mcpay accepts.
MINOR_DIGITS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "TZS": 2,
    "KES": 2,
    "UGX": 0,
    "JPY": 0,
    CREDITS: 2,
}


def minor_digits(currency: str) -> int:
    try:
        return MINOR_DIGITS[currency]
    except KeyError:
        raise UnsupportedCurrency(f"unsupported currency {currency!r}") from None


def _to_decimal(value: Decimal | str | int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, str, int)):
        raise InvalidAmount(f"amount must be a decimal string or integer, not {type(value).__name__}")
    if isinstance(value, str) and not DECIMAL_TEXT.fullmatch(value):
        raise InvalidAmount(
            f"{_shown(value)} is not a decimal number: write ASCII digits, optionally a '.' and more digits "
            "(e.g. 25.00), with no spaces, '_', '+' or exponent"
        )
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise InvalidAmount(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise InvalidAmount("amount must be finite")
    return number


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:37]!r}..."


@dataclass(frozen=True, order=False)
class Money:
    """A non-negative amount in one currency, exact to the currency's minor unit."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        digits = minor_digits(self.currency)
        if not self.amount.is_finite() or self.amount < 0:
            raise InvalidAmount("amount must be a finite, non-negative number")
        if self.amount >= LARGEST_AMOUNT:
            raise InvalidAmount(f"amount must be below {LARGEST_AMOUNT:,.0f}")
        if self.amount.as_tuple().exponent < -digits:  # type: ignore[operator]
            raise InvalidAmount(f"{self.currency} amounts have at most {digits} decimal places")
        object.__setattr__(self, "amount", self.amount.quantize(Decimal(1).scaleb(-digits)))

    @classmethod
    def of(cls, value: Decimal | str | int, currency: str) -> Money:
        """A positive amount, as a user or a gateway states it."""
        money = cls(_to_decimal(value), currency.upper())
        if money.amount == 0:
            raise InvalidAmount("amount must be greater than zero")
        return money

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor(cls, units: int, currency: str) -> Money:
        currency = currency.upper()
        return cls(Decimal(units).scaleb(-minor_digits(currency)), currency)

    @property
    def minor_units(self) -> int:
        return int(self.amount.scaleb(minor_digits(self.currency)))

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        if other.amount > self.amount:
            raise InvalidAmount("result would be negative")
        return Money(self.amount - other.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def credits(value: Decimal | str | int) -> Money:
    """An amount of Mycelium Credits (may be zero, as a balance can be)."""
    return Money(_to_decimal(value), CREDITS)


def credits_for(paid: Money, rate: Decimal) -> Money:
    """The credits a payment buys at a locked rate: rounded down to 0.01 MC."""
    if not rate.is_finite() or rate <= 0:
        raise InvalidAmount("rate must be a positive number")
    with localcontext() as context:
        context.rounding = ROUND_DOWN  # a product too long for the context must not round up past 0.01
        exact = paid.amount * rate
    return Money(exact.quantize(Decimal("0.01"), rounding=ROUND_DOWN), CREDITS)


def share_of(total: Money, part: Money, whole: Money) -> Money:
    """`total` scaled by part/whole, rounded down to the minor unit of `total`."""
    part._same_currency(whole)
    if whole.amount == 0 or part.amount > whole.amount:
        raise InvalidAmount("part must be within a non-zero whole")
    if part == whole:
        return total
    digits = minor_digits(total.currency)
    exact = total.amount * part.amount / whole.amount
    return Money(exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN), total.currency)
