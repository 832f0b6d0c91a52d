"""The composition root: the one place that names concrete adapters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import TracebackType
from typing import Self

from adapters.bank import BankGateway
from adapters.clickpesa.client import ClickPesaClient
from adapters.clickpesa.gateway import ClickPesaGateway
from adapters.clickpesa.simulator import ClickPesaSimulator
from adapters.clickpesa.webhooks import ClickPesaWebhooks
from adapters.demo import DemoGateway
from adapters.identity import Ed25519Signatures, JwtTokens
from adapters.ledger_signing import Ed25519LedgerSigner
from adapters.persistence import persistence_env
from adapters.read_side.sqlite import LocalLease
from adapters.stripe.gateway import StripeGateway, is_live_key, stripe_client
from adapters.stripe.simulator import DEMO_SESSION_PREFIX, StripeSimulator
from adapters.stripe.webhooks import StripeWebhooks
from adapters.system import RandomIdentifiers, SystemClock
from application.admin import AdminService
from application.audit.service import LedgerAudit
from application.checkouts import CheckoutTiming
from application.gateway_events import GatewayEvents
from application.gateways import GatewayEvent
from application.identity import IdentityService, IdentityStore
from application.ledger import Ledger
from application.metered import MeteredGateway, reversal_sources
from application.metrics import NoMetrics
from application.payments import PaymentService
from application.ports import Clock, Identifiers, Metrics, PaymentGateway, WebhookSimulator
from application.projection import Lease
from application.reading import PaymentReader, ReadSide
from application.reconciliation import Reconciler, ReversalChecks
from application.revocations import RevokedSessions
from application.spending import Receipts, SpendDecision, SpendDecisions, SpendService
from application.writer import Decide, GroupWriter, Prepare, by_kind, prepared_by_kind
from entrypoints.gateway_offers import bank_account, bank_offer, clickpesa_offer, stripe_offer
from entrypoints.read_side import build_read_side, log_follower_of
from entrypoints.settings import Settings, check_currencies


class Services:
    """Everything the entry points use, built once; `with bootstrap(settings) as services:` closes it after."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        identity_store: IdentityStore,
        identity: IdentityService,
        payments: PaymentService,
        simulators: Mapping[str, WebhookSimulator],
        reconciler: Reconciler,
        gateways: Mapping[str, PaymentGateway] | None = None,
        *,
        admin: AdminService,
        audit: LedgerAudit,
        read_side: ReadSide,
        reader: PaymentReader,
        metrics: Metrics | None = None,
        background_lease: Lease | None = None,
        spending: SpendService,
        writer: GroupWriter,
        revoked: RevokedSessions | None = None,
    ) -> None:
        self.spending = spending
        self.writer = writer
        self.revoked = revoked
        self.metrics = metrics or NoMetrics()
        self.background_lease = background_lease or LocalLease()
        self.read_side = read_side
        self.reader = reader
        self.settings = settings
        self.admin = admin
        self.audit = audit
        self.ledger = ledger
        self.identity_store = identity_store
        self.identity = identity
        self.payments = payments
        self.simulators = simulators
        self.reconciler = reconciler
        self.gateways = dict(gateways or {})

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.payments.close()
        self.writer.close()
        for gateway in self.gateways.values():
            close = getattr(gateway, "close", None)  # gateways holding connections (ClickPesa's HTTP client)
            if callable(close):
                close()
        self.background_lease.release()
        self.read_side.close()
        self.ledger.close()
        self.identity_store.close()


def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    ids: Identifiers | None = None,
    gateways: Mapping[str, PaymentGateway] | None = None,
    metrics: Metrics | None = None,
) -> Services:
    """Build every service from settings; tests replace pieces by keyword."""
    check_currencies(settings)
    clock = clock or SystemClock()
    metrics = metrics or NoMetrics()
    env = persistence_env(settings.database_url)
    ledger = Ledger(env=env)
    identity_store = IdentityStore(env=env)
    revoked = RevokedSessions(identity_store, log_follower_of(identity_store))
    identity = IdentityService(
        identity_store,
        JwtTokens(settings.effective_session_secret),
        Ed25519Signatures(),
        clock,
        admins=settings.admin_public_keys,
        auditors=settings.auditor_public_keys,
        session_ttl=timedelta(seconds=settings.session_ttl_seconds),
        revoked=revoked,
    )
    chosen = dict(gateways) if gateways is not None else configured_gateways(settings, clock, metrics)
    read = build_read_side(settings.database_url, ledger, metrics)
    queries = read.queries
    admin = AdminService(ledger, settings.bank_confirmations_required, metrics=metrics)
    timing = CheckoutTiming(
        abandoned_after=timedelta(seconds=settings.checkout_abandoned_after_seconds),
        replay_wait=timedelta(seconds=settings.checkout_replay_wait_seconds),
    )
    # One writer per process: gateway events and spends are decided in its groups, saved in one transaction each.
    events, spends = GatewayEvents(metrics), SpendDecisions(metrics)
    decisions: dict[type, Decide] = {GatewayEvent: events.decide, SpendDecision: spends.decide}
    preparations: dict[type, Prepare] = {GatewayEvent: events.preload, SpendDecision: spends.preload}
    linger = float(settings.writer_linger_ms / 1000)  # seconds, for the queue's timeout
    writer = GroupWriter(
        ledger, by_kind(decisions), prepare=prepared_by_kind(preparations), linger=linger, metrics=metrics
    )
    signer = _ledger_signer(settings)
    spending = SpendService(ledger, writer, Ed25519Signatures(), clock, Receipts(signer), read.spends)
    payments = PaymentService(
        ledger,
        chosen,
        settings.credit_rates,
        ids or RandomIdentifiers(),
        metrics=metrics,
        clock=clock,
        timing=timing,
        writer=writer,
    )
    reconcile_age = timedelta(seconds=settings.reconcile_min_age_seconds)
    reversals = ReversalChecks(
        window=timedelta(days=settings.reconcile_reversal_window_days),
        per_run=settings.reconcile_reversal_checks,
        calls_per_second=settings.reconcile_calls_per_second,
    )
    reconciler = Reconciler(
        payments,
        chosen,
        queries,
        clock,
        reconcile_age,
        reversal_sources=reversal_sources(chosen),
        reversals=reversals,
        metrics=metrics,
    )
    return Services(
        settings,
        ledger,
        identity_store,
        identity,
        payments,
        demo_simulators(settings),
        reconciler,
        gateways=chosen,
        admin=admin,
        audit=LedgerAudit(ledger, signer, clock),
        read_side=read.read_side,
        reader=PaymentReader(read.read_side.model, read.read_side, payments),
        metrics=metrics,
        background_lease=read.background_lease,
        spending=spending,
        writer=writer,
        revoked=revoked,
    )


def _ledger_signer(settings: Settings) -> Ed25519LedgerSigner | None:
    seed = settings.effective_ledger_signing_key
    return Ed25519LedgerSigner(seed) if seed else None


def configured_gateways(
    settings: Settings, clock: Clock | None = None, metrics: Metrics | None = None
) -> dict[str, PaymentGateway]:
    """The gateways whose settings are complete (all of them, simulated, in demo mode); live ones metered."""
    metrics = metrics or NoMetrics()
    gateways: dict[str, PaymentGateway] = {}
    if settings.demo_payment:
        base = settings.public_base_url
        stripe_webhooks = StripeWebhooks(_stripe_secrets(settings), livemode=False)
        gateways["stripe"] = DemoGateway(
            stripe_offer(settings), base, stripe_webhooks, checkout_prefix=DEMO_SESSION_PREFIX
        )
        clickpesa_webhooks = ClickPesaWebhooks(_clickpesa_secret(settings))
        gateways["clickpesa"] = DemoGateway(clickpesa_offer(settings), base, clickpesa_webhooks)
    live_stripe = None if settings.demo_payment else _live_stripe(settings, clock or SystemClock())
    if live_stripe is not None:
        gateways["stripe"] = MeteredGateway(live_stripe, metrics)
    live_clickpesa = None if settings.demo_payment else _live_clickpesa(settings, metrics)
    if live_clickpesa is not None:
        gateways["clickpesa"] = MeteredGateway(live_clickpesa, metrics)
    bank = bank_account(settings)
    if bank is not None:
        expiry = timedelta(days=settings.bank_expiry_days)
        offer = bank_offer(settings)
        gateways["bank"] = BankGateway(offer, bank, settings.public_base_url, clock or SystemClock(), expiry)
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


def _live_stripe(settings: Settings, clock: Clock) -> StripeGateway | None:
    """Stripe Checkout for real, once the secret key and the webhook signing secret(s) are set."""
    if not (settings.stripe_secret_key and settings.stripe_webhook_secrets):
        return None
    client = stripe_client(settings.stripe_secret_key, settings.stripe_api_base)
    webhooks = StripeWebhooks(settings.stripe_webhook_secrets, livemode=is_live_key(settings.stripe_secret_key))
    return StripeGateway(stripe_offer(settings), client, webhooks, settings.public_base_url, clock)


def webhook_secret(settings: Settings, gateway: str) -> str:
    """The secret this deployment verifies `gateway`'s webhooks with (during a rotation, the first listed)."""
    return _stripe_secrets(settings)[0] if gateway == "stripe" else _clickpesa_secret(settings)


def _live_clickpesa(settings: Settings, metrics: Metrics) -> ClickPesaGateway | None:
    """ClickPesa for real, once its client id, API key and checksum key (webhook secret) are all set."""
    key = settings.clickpesa_webhook_secret
    if not (settings.clickpesa_client_id and settings.clickpesa_api_secret and key):
        return None
    offer = clickpesa_offer(settings)
    client = ClickPesaClient(
        settings.clickpesa_api_base,
        settings.clickpesa_client_id,
        settings.clickpesa_api_secret,
        on_call=metrics.clickpesa_api_called,
    )
    return ClickPesaGateway(offer, client, ClickPesaWebhooks(key), key if settings.clickpesa_request_checksum else None)


def _clickpesa_secret(settings: Settings) -> str:
    return settings.clickpesa_webhook_secret or settings.demo_secret("clickpesa-webhook")
