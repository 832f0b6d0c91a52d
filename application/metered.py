"""A gateway whose every API call is counted by outcome and timed, for operators' alerts."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from application.errors import GatewayRefused, GatewayUnavailable
from application.gateways import Checkout, CheckoutRequest, GatewayEvent, GatewayOffer
from application.ports import Metrics, PaymentGateway, ReversalSource
from application.views import PaymentView

T = TypeVar("T")


class MeteredGateway:
    """The PaymentGateway port around another: checkouts and status questions reported to Metrics."""

    def __init__(self, gateway: PaymentGateway, metrics: Metrics) -> None:
        self._gateway = gateway
        self._metrics = metrics

    @property
    def offer(self) -> GatewayOffer:
        return self._gateway.offer

    def initiate_checkout(self, request: CheckoutRequest) -> Checkout:
        return self._call("checkout", lambda: self._gateway.initiate_checkout(request))

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        return self._gateway.parse_webhook(body, headers)  # checked here: no call to the gateway

    def resume_checkout(self, request: CheckoutRequest) -> Checkout:
        return self._call("checkout", lambda: self._gateway.resume_checkout(request))

    def fetch_status(self, payment: PaymentView) -> GatewayEvent | None:
        return self._call("status", lambda: self._gateway.fetch_status(payment))

    @property
    def reports_reversals(self) -> bool:
        return isinstance(self._gateway, ReversalSource)

    def fetch_reversals(self, payment: PaymentView) -> list[GatewayEvent]:
        inner = self._gateway
        if not isinstance(inner, ReversalSource):
            return []
        return self._call("reversals", lambda: inner.fetch_reversals(payment))

    def close(self) -> None:
        close = getattr(self._gateway, "close", None)
        if callable(close):
            close()

    def _call(self, operation: str, call: Callable[[], T]) -> T:
        started = time.perf_counter()
        outcome = "error"
        try:
            answer = call()
            outcome = "ok"
            return answer
        except GatewayUnavailable:
            outcome = "unavailable"
            raise
        except GatewayRefused:
            outcome = "refused"
            raise
        finally:
            self._metrics.gateway_called(self.offer.name, operation, outcome, time.perf_counter() - started)


def reversal_sources(gateways: Mapping[str, PaymentGateway]) -> dict[str, ReversalSource]:
    """The gateways that can be asked about refunds and disputes after the fact (metered ones stay metered)."""
    sources: dict[str, ReversalSource] = {}
    for name, gateway in gateways.items():
        if isinstance(gateway, MeteredGateway):
            if gateway.reports_reversals:
                sources[name] = gateway
        elif isinstance(gateway, ReversalSource):
            sources[name] = gateway
    return sources
