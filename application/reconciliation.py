"""Reconciliation: ask the gateway about payments pending too long, so no lost webhook loses a credit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from application.errors import GatewayError
from application.metrics import NoMetrics
from application.payments import PaymentService
from application.ports import Clock, Metrics, PaymentGateway, PaymentQueries, ReversalSource
from application.progress import Progress, unobserved
from application.views import PaymentView

logger = logging.getLogger("mcpay.reconciliation")


@dataclass(frozen=True)
class ReversalChecks:
    """How credited payments are asked about refunds and disputes whose webhooks may have been lost: those
    created within `window`, `per_run` of them a run (the oldest not asked about longest first, round the
    window), at most `calls_per_second` questions to a gateway."""

    window: timedelta = timedelta(days=120)
    per_run: int = 100
    calls_per_second: int = 20


@dataclass
class ReconciliationReport:
    examined: int = 0
    asked_about_reversals: int = 0  # credited payments whose refunds and disputes were asked about
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: int = 0

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


class Reconciler:
    """Applies what `fetch_status` reports through the same path as webhooks; finishes half-made checkouts."""

    def __init__(
        self,
        payments: PaymentService,
        gateways: Mapping[str, PaymentGateway],
        queries: PaymentQueries,
        clock: Clock,
        min_age: timedelta,
        *,
        reversal_sources: Mapping[str, ReversalSource] | None = None,
        reversals: ReversalChecks | None = None,
        metrics: Metrics | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._payments = payments
        self._gateways = gateways
        self._queries = queries
        self._clock = clock
        self._min_age = min_age
        self._reversal_sources = reversal_sources or {}
        self._reversals = reversals or ReversalChecks()
        self._metrics = metrics or NoMetrics()
        self._sleep = sleep
        self._asked_last: dict[str, tuple[datetime, str]] = {}  # per gateway: where the last run stopped

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
            if view.payment_url is None:  # a checkout left half-made by a process that died while opening it
                report.count(self._payments.finish_checkout(view.payment_id))
                continue
            try:
                event = gateway.fetch_status(view)
            except GatewayError as error:
                logger.warning("reconciliation: %s did not answer for %s: %s", view.gateway, view.reference, error)
                report.errors += 1
                continue
            report.count("no-news" if event is None else self._payments.apply(event))
        progress(len(pending), len(pending))
        for name, source in self._reversal_sources.items():
            self._ask_about_reversals(name, source, report)
        return report

    def _ask_about_reversals(self, name: str, source: ReversalSource, report: ReconciliationReport) -> None:
        if self._reversals.per_run == 0:
            return
        for view in self._next_credited(name):
            report.asked_about_reversals += 1
            try:
                events = source.fetch_reversals(view)
            except GatewayError as error:
                logger.warning("reconciliation: %s did not answer for %s: %s", name, view.reference, error)
                report.errors += 1
                continue
            finally:
                self._sleep(1 / self._reversals.calls_per_second)
            for event in events:
                outcome = self._payments.apply(event)
                if outcome not in ("duplicate", "ignored"):
                    report.count(outcome)

    def _next_credited(self, gateway: str) -> list[PaymentView]:
        """The next `per_run` credited payments of the window, after where the last run stopped (wrapping)."""
        credited = self._queries.credited_since(gateway, self._clock.now() - self._reversals.window)
        last = self._asked_last.get(gateway)
        later = [view for view in credited if last is None or _place(view) > last]
        chosen = (later + [view for view in credited if view not in later])[: self._reversals.per_run]
        if chosen:
            self._asked_last[gateway] = _place(chosen[-1])
        return chosen


def _place(view: PaymentView) -> tuple[datetime, str]:
    return view.created_at, str(view.payment_id)
