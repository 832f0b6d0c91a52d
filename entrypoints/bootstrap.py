"""The composition root: the one place that names concrete adapters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from adapters.bank import BankAccount, BankGateway
from adapters.clickpesa.simulator import ClickPesaSimulator
from adapters.clickpesa.webhooks import ClickPesaWebhooks
from adapters.demo import DemoGateway
from adapters.identity import Ed25519Signatures, JwtTokens
from adapters.persistence import persistence_env
from adapters.stripe.simulator import StripeSimulator
from adapters.stripe.webhooks import StripeWebhooks
from adapters.system import RandomIdentifiers, SystemClock
from application.following import FollowingPaymentQueries
from application.gateways import GatewayOffer
from application.identity import IdentityService, IdentityStore
from application.ledger import Ledger
from application.payments import PaymentService
from application.ports import Clock, Identifiers, PaymentGateway, WebhookSimulator
from application.pricing import minimums
from application.reconciliation import Reconciler
from domain.money import MINOR_DIGITS
from entrypoints.settings import Settings, SettingsError

CARD_MINIMUM_USD = Decimal("0.50")
CLICKPESA_CURRENCIES = ("TZS", "USD")
DEMO_BANK = BankAccount("Demo Bank of Zanzibar", "Mycelium Demo Ltd", "0150123456789", "DEMOTZTZ")


class Services:
    """Everything the entry points use, built once."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        identity_store: IdentityStore,
        identity: IdentityService,
        payments: PaymentService,
        simulators: Mapping[str, WebhookSimulator],
        reconciler: Reconciler,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.identity_store = identity_store
        self.identity = identity
        self.payments = payments
        self.simulators = simulators
        self.reconciler = reconciler

    def close(self) -> None:
        self.ledger.close()
        self.identity_store.close()


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    ids: Identifiers | None = None,
    gateways: Mapping[str, PaymentGateway] | None = None,
) -> Services:
    """Build every service from settings; tests replace pieces by keyword."""
    _check_currencies(settings)
    clock = clock or SystemClock()
    env = persistence_env(settings.database_url)
    ledger = Ledger(env=env)
    identity_store = IdentityStore(env=env)
    identity = IdentityService(
        identity_store,
        JwtTokens(settings.effective_session_secret),
        Ed25519Signatures(),
        clock,
        admins=settings.admin_public_keys,
        auditors=settings.auditor_public_keys,
        session_ttl=timedelta(seconds=settings.session_ttl_seconds),
    )
    chosen = dict(gateways) if gateways is not None else configured_gateways(settings)
    queries = FollowingPaymentQueries(ledger)
    payments = PaymentService(ledger, chosen, settings.credit_rates, ids or RandomIdentifiers(), queries)
    reconciler = Reconciler(payments, chosen, queries, clock, timedelta(seconds=settings.reconcile_min_age_seconds))
    return Services(settings, ledger, identity_store, identity, payments, demo_simulators(settings), reconciler)


def configured_gateways(settings: Settings) -> dict[str, PaymentGateway]:
    """The gateways whose settings are complete (all of them, simulated, in demo mode)."""
    rates = settings.credit_rates
    card = minimums(CARD_MINIMUM_USD, rates, rates)
    gateways: dict[str, PaymentGateway] = {}
    if settings.demo_payment:
        stripe_offer = GatewayOffer("stripe", tuple(rates), card, demo=True)
        clickpesa_currencies = tuple(c for c in CLICKPESA_CURRENCIES if c in rates)
        clickpesa_offer = GatewayOffer(
            "clickpesa", clickpesa_currencies, {c: card[c] for c in clickpesa_currencies}, demo=True
        )
        base = settings.public_base_url
        gateways["stripe"] = DemoGateway(stripe_offer, base, StripeWebhooks(_stripe_secrets(settings)))
        gateways["clickpesa"] = DemoGateway(clickpesa_offer, base, ClickPesaWebhooks(_clickpesa_secret(settings)))
    bank = _bank_account(settings)
    if bank is not None:
        offer = GatewayOffer(
            "bank", tuple(rates), minimums(settings.bank_min_amount, rates, rates), demo=settings.demo_payment
        )
        gateways["bank"] = BankGateway(offer, bank, settings.public_base_url)
    return gateways


def demo_simulators(settings: Settings) -> dict[str, WebhookSimulator]:
    if not settings.demo_payment:
        return {}
    return {
        "stripe": StripeSimulator(_stripe_secrets(settings)[0]),
        "clickpesa": ClickPesaSimulator(_clickpesa_secret(settings)),
    }


def _stripe_secrets(settings: Settings) -> tuple[str, ...]:
    return settings.stripe_webhook_secrets or ("whsec_" + settings.demo_secret("stripe-webhook"),)


def _clickpesa_secret(settings: Settings) -> str:
    return settings.clickpesa_webhook_secret or settings.demo_secret("clickpesa-webhook")


def _bank_account(settings: Settings) -> BankAccount | None:
    account = BankAccount(
        settings.bank_name, settings.bank_account_name, settings.bank_account_number, settings.bank_swift_code
    )
    if all((account.bank_name, account.account_name, account.account_number, account.swift_code)):
        return account
    return DEMO_BANK if settings.demo_payment else None


def _check_currencies(settings: Settings) -> None:
    unknown = sorted(set(settings.credit_rates) - set(MINOR_DIGITS))
    if unknown:
        raise SettingsError(f"CREDIT_RATES names currencies mcpay does not support: {', '.join(unknown)}")
