"""Reconciliation: ask the gateway about payments pending too long, so no lost webhook loses a credit."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from application.errors import GatewayError
from application.metrics import NoMetrics
from application.payments import PaymentService
from application.ports import Clock, Metrics, PaymentGateway, PaymentQueries
from application.progress import Progress, unobserved

logger = logging.getLogger("mcpay.reconciliation")


@dataclass
class ReconciliationReport:
    examined: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: int = 0

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


class Reconciler:
    """Applies what `fetch_status` reports through the same path as webhooks."""

    def __init__(
        self,
        payments: PaymentService,
        gateways: Mapping[str, PaymentGateway],
        queries: PaymentQueries,
        clock: Clock,
        min_age: timedelta,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        self._payments = payments
        self._gateways = gateways
        self._queries = queries
        self._clock = clock
        self._min_age = min_age
        self._metrics = metrics or NoMetrics()

    def run_once(self, progress: Progress = unobserved) -> ReconciliationReport:
        try:
            report = self._run(progress)
        except Exception:
            self._metrics.reconciliation_ran("failed", {})
            raise
        outcomes = {**report.outcomes, "gateway_error": report.errors} if report.errors else report.outcomes
        self._metrics.reconciliation_ran("gateway_errors" if report.errors else "ok", outcomes)
        return report

    def _run(self, progress: Progress) -> ReconciliationReport:
        report = ReconciliationReport()
        pending = self._queries.pending_since(self._clock.now() - self._min_age)
        for done, view in enumerate(pending):
            progress(done, len(pending))
            gateway = self._gateways.get(view.gateway)
            if gateway is None:
                continue
            report.examined += 1
            try:
                event = gateway.fetch_status(view)
            except GatewayError as error:
                logger.warning("reconciliation: %s did not answer for %s: %s", view.gateway, view.reference, error)
                report.errors += 1
                continue
            report.count("no-news" if event is None else self._payments.apply(event))
        progress(len(pending), len(pending))
        return report
