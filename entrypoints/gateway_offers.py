"""What each gateway is offered for, and the bank account payers are shown: the product's rules, applied to the
settings. The composition root builds the gateways with these; the rules themselves are stated here only."""

from __future__ import annotations

from decimal import Decimal

from adapters.bank import BankAccount
from adapters.stripe.amounts import largest_amounts
from application.gateways import GatewayOffer
from application.pricing import minimums
from entrypoints.settings import Settings

# Stripe's smallest charge, in USD; ClickPesa's card and mobile-money payments are held to the same.
CARD_MINIMUM_USD = Decimal("0.50")
CLICKPESA_CURRENCIES = ("TZS", "USD")  # what ClickPesa collects in, of the currencies CREDIT_RATES names
# What demo mode shows for a bank transfer when BANK_* do not name a real account.
DEMO_BANK = BankAccount("Demo Bank of Zanzibar", "Mycelium Demo Ltd", "0150123456789", "DEMOTZTZ")


def card_minimums(settings: Settings) -> dict[str, Decimal]:
    """The card minimum in each currency of CREDIT_RATES."""
    rates = settings.credit_rates
    return minimums(CARD_MINIMUM_USD, rates, rates)


def stripe_offer(settings: Settings) -> GatewayOffer:
    """Every currency of CREDIT_RATES, from the card minimum up to Stripe's largest amount."""
    rates = settings.credit_rates
    card = card_minimums(settings)
    return GatewayOffer("stripe", tuple(rates), card, demo=settings.demo_payment, max_amounts=largest_amounts(rates))


def clickpesa_offer(settings: Settings) -> GatewayOffer:
    """ClickPesa's currencies that CREDIT_RATES names, from the card minimum."""
    currencies = tuple(currency for currency in CLICKPESA_CURRENCIES if currency in settings.credit_rates)
    card = card_minimums(settings)
    return GatewayOffer(
        "clickpesa", currencies, {currency: card[currency] for currency in currencies}, demo=settings.demo_payment
    )


def bank_offer(settings: Settings) -> GatewayOffer:
    """Every currency of CREDIT_RATES, from BANK_MIN_AMOUNT (stated in USD)."""
    rates = settings.credit_rates
    return GatewayOffer("bank", tuple(rates), minimums(settings.bank_min_amount, rates, rates), settings.demo_payment)


def bank_account(settings: Settings) -> BankAccount | None:
    """The account BANK_* name when they name one in full; else, in demo mode, the demo bank's; else none."""
    account = BankAccount(
        settings.bank_name, settings.bank_account_name, settings.bank_account_number, settings.bank_swift_code
    )
    if all((account.bank_name, account.account_name, account.account_number, account.swift_code)):
        return account
    return DEMO_BANK if settings.demo_payment else None
