"""The use cases tell the Metrics port what happened, once it is saved, and nothing about users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from adapters.demo import DemoGateway
from adapters.prometheus_metrics import PrometheusMetrics
from adapters.stripe.simulator import StripeSimulator
from adapters.stripe.webhooks import StripeWebhooks
from application.admin import AdminService, Receipt
from application.errors import GatewayUnavailable, WebhookRejected
from application.gateways import GatewayEvent, GatewayOffer, Outcome
from application.ledger import Ledger
from application.payments import PaymentService, TopUpOrder
from application.reconciliation import Reconciler
from application.views import PaymentView
from domain.money import Money
from domain.payment import Payment
from tests.following import FollowingPaymentQueries
from tests.unit.fakes import FakeClock, FakeGateway, FakeIdentifiers, RecordedMetrics

pytestmark = pytest.mark.unit

USER = "c" * 64
ADMIN = "a" * 64
RATES = {"USD": Decimal(1)}
SECRET = "whsec_metrics_test"


@pytest.fixture
def metrics() -> RecordedMetrics:
    return RecordedMetrics()


def stripe_service(ledger: Ledger, metrics: RecordedMetrics) -> PaymentService:
    offer = GatewayOffer("stripe", ("USD",), {"USD": Decimal("0.50")}, demo=True)
    gateway = DemoGateway(offer, "http://mcpay.test", StripeWebhooks([SECRET]))
    return PaymentService(ledger, {"stripe": gateway}, RATES, FakeIdentifiers(), metrics=metrics)


def test_a_verified_webhook_counts_its_check_the_confirmation_and_the_credit(
    ledger: Ledger, metrics: RecordedMetrics
) -> None:
    service = stripe_service(ledger, metrics)
    view = service.initiate(USER, TopUpOrder("25.00", "USD", "stripe")).payment
    body, headers = StripeSimulator(SECRET).simulate(view, "pay")

    service.receive_webhook("stripe", body, headers)
    service.receive_webhook("stripe", body, headers)  # a duplicate: checked again, credits nothing

    assert metrics.calls == [
        ("webhook_checked", ("stripe", True)),
        ("payment_confirmed", ("stripe",)),
        ("credits_topped_up", ("stripe", Decimal("25.00"))),
        ("webhook_checked", ("stripe", True)),
    ]


def test_a_rejected_webhook_counts_as_rejected_and_nothing_else(ledger: Ledger, metrics: RecordedMetrics) -> None:
    service = stripe_service(ledger, metrics)
    view = service.initiate(USER, TopUpOrder("25.00", "USD", "stripe")).payment
    body, headers = StripeSimulator("whsec_forged").simulate(view, "pay")

    with pytest.raises(WebhookRejected):
        service.receive_webhook("stripe", body, headers)
    with pytest.raises(WebhookRejected):
        service.receive_webhook("clickpesa", body, {})  # not configured at all

    assert metrics.calls == [("webhook_checked", ("stripe", False)), ("webhook_checked", ("clickpesa", False))]


def test_refunds_and_disputes_count_the_credits_taken_back(ledger: Ledger, metrics: RecordedMetrics) -> None:
    service = PaymentService(ledger, {"stripe": FakeGateway()}, RATES, FakeIdentifiers(), metrics=metrics)
    view = service.initiate(USER, TopUpOrder("25.00", "USD", "stripe")).payment
    price = Money.of("25.00", "USD")
    service.apply(GatewayEvent("stripe", Outcome.PAID, view.reference, "paid", price, {}, "pi_1"))
    refund = GatewayEvent(
        "stripe", Outcome.REFUNDED, None, "refund", price, {}, gateway_object="pi_1", refunded=Money.of("10", "USD")
    )
    service.apply(refund)
    service.apply(GatewayEvent("stripe", Outcome.DISPUTED, None, "dispute", None, {}, gateway_object="pi_1"))

    assert metrics.calls[-2:] == [
        ("credits_reversed", ("stripe", "refunded", Decimal("10.00"))),
        ("credits_reversed", ("stripe", "disputed", Decimal("15.00"))),
    ]


def test_an_admin_confirmation_counts_when_it_credits(ledger: Ledger, metrics: RecordedMetrics) -> None:
    payment = Payment.initiate(UUID(int=1), USER, "bank", "MCREF0001", Money.of("1000", "USD"), Decimal(1))
    ledger.commit(payment)
    desk = AdminService(ledger, 1, metrics=metrics)

    desk.confirm(ADMIN, payment.id, Receipt("1000", "USD"))

    assert metrics.calls == [("payment_confirmed", ("bank",)), ("credits_topped_up", ("bank", Decimal("1000.00")))]


class AnsweringGateway(FakeGateway):
    """Answers reconciliation: paid for one reference, unreachable for another, nothing for the rest."""

    def __init__(self, paid: str, down: str) -> None:
        super().__init__()
        self._paid, self._down = paid, down

    def fetch_status(self, payment: PaymentView) -> GatewayEvent | None:
        if payment.reference == self._down:
            raise GatewayUnavailable("down")
        if payment.reference == self._paid:
            price = Money.of(payment.amount, payment.currency)
            return GatewayEvent("stripe", Outcome.PAID, payment.reference, "paid", price, {})
        return None


def test_a_reconciliation_run_counts_its_result_and_each_outcome(ledger: Ledger, metrics: RecordedMetrics) -> None:
    queries = FollowingPaymentQueries(ledger)
    gateway = AnsweringGateway(paid="MCTEST0001", down="MCTEST0002")
    service = PaymentService(ledger, {"stripe": gateway}, RATES, FakeIdentifiers())
    for _ in range(3):
        service.initiate(USER, TopUpOrder("5.00", "USD", "stripe"))
    clock = FakeClock(datetime.now(UTC) + timedelta(days=1))
    reconciler = Reconciler(service, {"stripe": gateway}, queries, clock, timedelta(minutes=10), metrics=metrics)

    reconciler.run_once()

    assert metrics.calls == [
        ("reconciliation_ran", ("gateway_errors", {"confirmed": 1, "no-news": 1, "gateway_error": 1}))
    ]


def test_prometheus_metrics_name_gateways_and_outcomes_only() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry)
    metrics.webhook_checked("stripe", verified=False)
    metrics.credits_topped_up("clickpesa", Decimal("3.70"))
    metrics.credits_topped_up("clickpesa", Decimal("1.30"))
    metrics.reconciliation_ran("ok", {"no-news": 2})
    metrics.projection_lag("payments", 7)
    PrometheusMetrics(registry).payment_confirmed("bank")  # a second instance shares the registry's metrics

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("mcpay_webhook_verifications_total", gateway="stripe", outcome="rejected") == 1
    assert value("mcpay_credits_topped_up_total", gateway="clickpesa") == 2
    assert value("mcpay_credits_topped_up_mc_total", gateway="clickpesa") == pytest.approx(5.0)
    assert value("mcpay_reconciliation_runs_total", result="ok") == 1
    assert value("mcpay_reconciliation_payments_total", outcome="no-news") == 2
    assert value("mcpay_projection_lag_events", projection="payments") == 7
    assert value("mcpay_payments_confirmed_total", gateway="bank") == 1
    assert (value("mcpay_reconciliation_last_run_timestamp_seconds") or 0) > 0
    assert b"mcpay_credits_reversed_total" in generate_latest(registry)


def test_prometheus_metrics_count_the_writers_groups_conflicts_and_reads() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry)
    metrics.writer_group(5, "committed", 0)
    metrics.writer_group(3, "committed", 2)
    metrics.writer_group(2, "one_at_a_time", 5)
    metrics.writer_reads(cached=4, loaded=1)
    metrics.writer_reads(cached=0, loaded=3)

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("mcpay_writer_groups_total", outcome="committed") == 2
    assert value("mcpay_writer_groups_total", outcome="one_at_a_time") == 1
    assert value("mcpay_writer_group_size_count") == 3
    assert value("mcpay_writer_group_size_sum") == 10
    assert value("mcpay_writer_group_size_bucket", le="2.0") == 1
    assert value("mcpay_writer_group_size_bucket", le="4.0") == 2
    assert value("mcpay_writer_conflicts_total") == 7
    assert value("mcpay_writer_aggregates_read_total", source="cache") == 4
    assert value("mcpay_writer_aggregates_read_total", source="store") == 4


def test_prometheus_metrics_time_the_writers_groups_by_phase() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry)
    metrics.writer_times(waited=0.0015, read=0.0012, decided=0.0003, saved=0.004)
    metrics.writer_times(waited=0.03, read=0.0008, decided=0.0001, saved=0.0018)

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("mcpay_writer_wait_seconds_count") == 2
    assert value("mcpay_writer_wait_seconds_sum") == pytest.approx(0.0315)
    assert value("mcpay_writer_wait_seconds_bucket", le="0.002") == 1
    assert value("mcpay_writer_phase_seconds_sum", phase="read") == pytest.approx(0.002)
    assert value("mcpay_writer_phase_seconds_sum", phase="decide") == pytest.approx(0.0004)
    assert value("mcpay_writer_phase_seconds_sum", phase="save") == pytest.approx(0.0058)
    assert value("mcpay_writer_phase_seconds_bucket", phase="save", le="0.002") == 1
    assert value("mcpay_writer_phase_seconds_count", phase="save") == 2
