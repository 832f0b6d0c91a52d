"""The Metrics port in prometheus-client's registry, which `/metrics` serves."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge


@dataclass(frozen=True)
class _Instruments:
    webhooks: Counter
    confirmations: Counter
    top_ups: Counter
    top_up_credits: Counter
    reversals: Counter
    reversed_credits: Counter
    reconciliation_runs: Counter
    reconciled_payments: Counter
    reconciliation_last_run: Gauge
    projection_lag: Gauge


@cache
def _instruments(registry: CollectorRegistry) -> _Instruments:
    """Made once per registry: prometheus-client refuses a second metric of the same name."""
    return _Instruments(
        webhooks=Counter(
            "mcpay_webhook_verifications",
            "Webhook deliveries by gateway and signature check outcome (verified, rejected).",
            ["gateway", "outcome"],
            registry=registry,
        ),
        confirmations=Counter(
            "mcpay_payments_confirmed", "Payments confirmed, by gateway.", ["gateway"], registry=registry
        ),
        top_ups=Counter("mcpay_credits_topped_up", "Wallet credits, by gateway.", ["gateway"], registry=registry),
        top_up_credits=Counter(
            "mcpay_credits_topped_up_mc",
            "Mycelium Credits credited to wallets, by gateway.",
            ["gateway"],
            registry=registry,
        ),
        reversals=Counter(
            "mcpay_credits_reversed",
            "Credit reversals, by gateway and reason (refunded, disputed).",
            ["gateway", "reason"],
            registry=registry,
        ),
        reversed_credits=Counter(
            "mcpay_credits_reversed_mc",
            "Mycelium Credits taken back from wallets, by gateway and reason.",
            ["gateway", "reason"],
            registry=registry,
        ),
        reconciliation_runs=Counter(
            "mcpay_reconciliation_runs",
            "Reconciliation runs by result (ok, gateway_errors, failed).",
            ["result"],
            registry=registry,
        ),
        reconciled_payments=Counter(
            "mcpay_reconciliation_payments",
            "Pending payments asked about by reconciliation, by outcome.",
            ["outcome"],
            registry=registry,
        ),
        reconciliation_last_run=Gauge(
            "mcpay_reconciliation_last_run_timestamp_seconds",
            "When the last reconciliation run ended (Unix time).",
            registry=registry,
            multiprocess_mode="max",
        ),
        projection_lag=Gauge(
            "mcpay_projection_lag_events",
            "Events in the ledger's log that a projection has yet to apply.",
            ["projection"],
            registry=registry,
            multiprocess_mode="max",
        ),
    )


class PrometheusMetrics:
    """Counters and gauges for operators; labels are gateway names and outcomes, nothing about users."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self._m = _instruments(registry)

    def webhook_checked(self, gateway: str, verified: bool) -> None:
        self._m.webhooks.labels(gateway, "verified" if verified else "rejected").inc()

    def payment_confirmed(self, gateway: str) -> None:
        self._m.confirmations.labels(gateway).inc()

    def credits_topped_up(self, gateway: str, amount: Decimal) -> None:
        self._m.top_ups.labels(gateway).inc()
        self._m.top_up_credits.labels(gateway).inc(float(amount))  # a metric, not money: a float is fine here

    def credits_reversed(self, gateway: str, reason: str, amount: Decimal) -> None:
        self._m.reversals.labels(gateway, reason).inc()
        self._m.reversed_credits.labels(gateway, reason).inc(float(amount))

    def reconciliation_ran(self, result: str, outcomes: Mapping[str, int]) -> None:
        self._m.reconciliation_runs.labels(result).inc()
        for outcome, count in outcomes.items():
            self._m.reconciled_payments.labels(outcome).inc(count)
        self._m.reconciliation_last_run.set(time.time())

    def projection_lag(self, projection: str, events: int) -> None:
        self._m.projection_lag.labels(projection).set(events)
