"""The pure parts of the Stripe gateway: amounts in Stripe's units, session parameters, error translation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
import stripe

from adapters.stripe.amounts import amount_from_stripe, money_from_stripe, to_stripe_units
from adapters.stripe.gateway import checkout_params, gateway_error, idempotency_key
from application.errors import GatewayRefused, GatewayUnavailable
from application.gateways import CheckoutRequest
from domain.errors import DomainError
from domain.money import Money

pytestmark = pytest.mark.unit

REQUEST = CheckoutRequest(
    payment_id=UUID(int=5),
    reference="MCREF0005",
    price=Money.of("25.00", "USD"),
    description="25.00 Mycelium Credits",
    customer_email="payer@example.test",
)
EXPIRES = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)


def stripe_error(kind: Any, *args: Any, **kwargs: Any) -> stripe.StripeError:
    """One of the SDK's errors, as its requestor raises them (the constructors are untyped)."""
    error: stripe.StripeError = kind(*args, **kwargs)
    return error


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        ("25.00", "USD", 2500),
        ("0.50", "EUR", 50),
        ("1351.36", "TZS", 135136),
        ("1500", "JPY", 1500),
        ("5000", "UGX", 500000),  # zero-decimal, yet Stripe takes UGX times 100
    ],
)
def test_amounts_go_to_stripe_in_its_units_and_come_back_exactly(amount: str, currency: str, units: int) -> None:
    money = Money.of(amount, currency)
    assert to_stripe_units(money) == units
    assert money_from_stripe(units, currency.lower()) == money


def test_stripe_amounts_that_are_not_integers_or_not_whole_are_refused() -> None:
    for units, currency in [(25.0, "usd"), ("2500", "usd"), (True, "usd"), (550, "ugx"), (-5, "usd")]:
        with pytest.raises((ValueError, DomainError)):
            money_from_stripe(units, currency)


def test_zero_is_an_amount_but_not_money_paid() -> None:
    assert amount_from_stripe(0, "usd") == Money.zero("USD")
    with pytest.raises(DomainError):
        money_from_stripe(0, "usd")


def test_the_session_parameters_carry_the_payment() -> None:
    params = checkout_params(REQUEST, "https://mcpay.test", EXPIRES)
    assert params == {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 2500,
                    "product_data": {"name": "25.00 Mycelium Credits"},
                },
            }
        ],
        "client_reference_id": "MCREF0005",
        "metadata": {"payment_id": str(UUID(int=5)), "reference": "MCREF0005"},
        "payment_intent_data": {"metadata": {"payment_id": str(UUID(int=5)), "reference": "MCREF0005"}},
        "success_url": f"https://mcpay.test/#/payments/{UUID(int=5)}?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"https://mcpay.test/#/payments/{UUID(int=5)}?checkout=cancelled",
        "expires_at": int(EXPIRES.timestamp()),
        "customer_email": "payer@example.test",
    }


def test_the_wallet_the_payment_credits_rides_in_the_metadata_when_known() -> None:
    wallet = UUID(int=7)
    params = checkout_params(replace(REQUEST, wallet_id=wallet), "https://mcpay.test", EXPIRES)
    expected = {"payment_id": str(UUID(int=5)), "reference": "MCREF0005", "wallet_id": str(wallet)}
    assert params["metadata"] == expected
    assert params["payment_intent_data"] == {"metadata": expected}


def test_the_idempotency_key_is_the_payments_own() -> None:
    assert idempotency_key(REQUEST) == f"mcpay-checkout-{UUID(int=5)}"


@pytest.mark.parametrize(
    "error",
    [
        stripe_error(stripe.APIConnectionError, "network down"),
        stripe_error(stripe.APIError, "boom", http_status=500),
        stripe_error(stripe.APIError, "unavailable", http_status=503),
        stripe_error(stripe.RateLimitError, "slow down", http_status=429),
        stripe_error(stripe.APIError, "lock timeout", http_status=409),
    ],
    ids=lambda error: type(error).__name__,
)
def test_unreachable_or_failing_stripe_is_unavailable(error: stripe.StripeError) -> None:
    assert isinstance(gateway_error("open a Checkout Session", error), GatewayUnavailable)


@pytest.mark.parametrize(
    "error",
    [
        stripe_error(stripe.InvalidRequestError, "Invalid currency: xyz", "currency", http_status=400),
        stripe_error(stripe.AuthenticationError, "Invalid API Key provided: sk_test_****abcd", http_status=401),
        stripe_error(stripe.CardError, "declined", None, "card_declined", http_status=402),
        stripe_error(stripe.PermissionError, "not allowed", http_status=403),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_refusal_is_refused_and_names_stripes_reason_without_keys(error: stripe.StripeError) -> None:
    failure = gateway_error("open a Checkout Session", error)
    assert isinstance(failure, GatewayRefused)
    assert f"HTTP {error.http_status}" in str(failure)
    assert "sk_test_" not in str(failure)


def test_a_key_in_stripes_message_is_redacted() -> None:
    error = stripe_error(stripe.InvalidRequestError, "bad key sk_live_abcdef123 and whsec_x1", None, http_status=400)
    text = str(gateway_error("do it", error))
    assert "abcdef123" not in text and "whsec_x1" not in text
    assert "[redacted]" in text
