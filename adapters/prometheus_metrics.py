"""The Metrics port in prometheus-client's registry, which `/metrics` serves."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series: operators alert on rates, not on when a label first appeared
AWAITING_STATUSES = ("pending", "needs_review")  # reported even at 0, so that an alert sees the series
GROUP_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
# A group's phases take a fraction of a millisecond to a few under load; past a second the store is in trouble.
WRITER_SECONDS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


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
    webhook_deliveries: Counter
    gateway_calls: Counter
    gateway_call_seconds: Histogram
    clickpesa_calls: Counter
    awaiting_admin: Gauge
    spends: Counter
    spent_credits: Counter
    writer_groups: Counter
    writer_group_size: Histogram
    writer_conflicts: Counter
    writer_aggregates: Counter
    writer_waits: Histogram
    writer_phases: Histogram


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
        webhook_deliveries=Counter(
            "mcpay_webhook_deliveries",
            "Webhook deliveries by gateway and what they did (confirmed, duplicate, unmatched, needs_review, "
            "refunded, ..., rejected).",
            ["gateway", "result"],
            registry=registry,
        ),
        gateway_calls=Counter(
            "mcpay_gateway_calls",
            "Calls to a gateway's API by operation (checkout, status) and outcome (ok, unavailable, refused, error).",
            ["gateway", "operation", "outcome"],
            registry=registry,
        ),
        gateway_call_seconds=Histogram(
            "mcpay_gateway_call_duration_seconds",
            "How long calls to a gateway's API took, by operation.",
            ["gateway", "operation"],
            registry=registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
        ),
        clickpesa_calls=Counter(
            "mcpay_clickpesa_api_calls",
            "Requests to ClickPesa's API (token, checkout, status): each counts against its daily call quota.",
            ["call"],
            registry=registry,
        ),
        awaiting_admin=Gauge(
            "mcpay_payments_awaiting_admin",
            "Payments waiting for an admin, by status (pending bank transfers, needs_review).",
            ["status"],
            registry=registry,
            multiprocess_mode="mostrecent",
        ),
        spends=Counter("mcpay_spends", "Spends recorded (signed by their wallet's owner).", registry=registry),
        spent_credits=Counter(
            "mcpay_credits_spent_mc", "Mycelium Credits moved from wallets to payees.", registry=registry
        ),
        writer_groups=Counter(
            "mcpay_writer_groups",
            "Groups of changes the writer answered, by how (committed, exclusive, one_at_a_time).",
            ["outcome"],
            registry=registry,
        ),
        writer_group_size=Histogram(
            "mcpay_writer_group_size",
            "Changes per group the writer answered.",
            buckets=GROUP_SIZES,
            registry=registry,
        ),
        writer_conflicts=Counter(
            "mcpay_writer_conflicts",
            "Tries of a group dropped because another process saved one of its aggregates first.",
            registry=registry,
        ),
        writer_aggregates=Counter(
            "mcpay_writer_aggregates_read",
            "Aggregates the writer's committed groups read, by source (cache: kept at the store's version; store).",
            ["source"],
            registry=registry,
        ),
        writer_waits=Histogram(
            "mcpay_writer_wait_seconds",
            "How long a committed group's first change waited for the group to begin (queued, then lingering).",
            buckets=WRITER_SECONDS,
            registry=registry,
        ),
        writer_phases=Histogram(
            "mcpay_writer_phase_seconds",
            "A committed group's reads, decisions and save (the append and its commit), by phase.",
            ["phase"],
            buckets=WRITER_SECONDS,
            registry=registry,
        ),
    )


class PrometheusMetrics:
    """Counters and gauges for operators; labels are gateway names and outcomes, nothing about users."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self._m = _instruments(registry)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def _of(self, metric: Any, *values: str) -> Any:
        """`metric.labels(*values)`, kept: the library's lookup takes a lock and checks every label each time."""
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def webhook_checked(self, gateway: str, verified: bool) -> None:
        self._of(self._m.webhooks, gateway, "verified" if verified else "rejected").inc()

    def payment_confirmed(self, gateway: str) -> None:
        self._of(self._m.confirmations, gateway).inc()

    def credits_topped_up(self, gateway: str, amount: Decimal) -> None:
        self._of(self._m.top_ups, gateway).inc()
        self._of(self._m.top_up_credits, gateway).inc(float(amount))  # a metric, not money: a float is fine here

    def credits_reversed(self, gateway: str, reason: str, amount: Decimal) -> None:
        self._of(self._m.reversals, gateway, reason).inc()
        self._of(self._m.reversed_credits, gateway, reason).inc(float(amount))

    def reconciliation_ran(self, result: str, outcomes: Mapping[str, int]) -> None:
        self._of(self._m.reconciliation_runs, result).inc()
        for outcome, count in outcomes.items():
            self._of(self._m.reconciled_payments, outcome).inc(count)
        self._m.reconciliation_last_run.set(time.time())

    def projection_lag(self, projection: str, events: int) -> None:
        self._of(self._m.projection_lag, projection).set(events)

    def webhook_delivered(self, gateway: str, result: str) -> None:
        self._of(self._m.webhook_deliveries, gateway, result).inc()

    def gateway_called(self, gateway: str, operation: str, outcome: str, seconds: float) -> None:
        self._of(self._m.gateway_calls, gateway, operation, outcome).inc()
        self._of(self._m.gateway_call_seconds, gateway, operation).observe(seconds)

    def clickpesa_api_called(self, call: str) -> None:
        self._of(self._m.clickpesa_calls, call).inc()

    def payments_awaiting_admin(self, counts: Mapping[str, int]) -> None:
        for status in {*AWAITING_STATUSES, *counts}:
            self._of(self._m.awaiting_admin, status).set(counts.get(status, 0))

    def credits_spent(self, amount: Decimal) -> None:
        self._m.spends.inc()
        self._m.spent_credits.inc(float(amount))

    def writer_group(self, size: int, outcome: str, conflicts: int) -> None:
        self._of(self._m.writer_groups, outcome).inc()
        self._m.writer_group_size.observe(size)
        if conflicts:
            self._m.writer_conflicts.inc(conflicts)

    def writer_reads(self, cached: int, loaded: int) -> None:
        if cached:
            self._of(self._m.writer_aggregates, "cache").inc(cached)
        if loaded:
            self._of(self._m.writer_aggregates, "store").inc(loaded)

    def writer_times(self, waited: float, read: float, decided: float, saved: float) -> None:
        self._m.writer_waits.observe(waited)
        for phase, seconds in (("read", read), ("decide", decided), ("save", saved)):
            self._of(self._m.writer_phases, phase).observe(seconds)
