"""Demo mode: the real webhook path with a simulated checkout page on this service."""

from __future__ import annotations

from collections.abc import Mapping

from application.gateways import Checkout, CheckoutRequest, GatewayEvent, GatewayOffer
from application.ports import WebhookVerifier
from application.views import PaymentView


class DemoGateway:
    """Checkouts open the local demo page; webhooks are verified by the gateway's real verifier."""

    def __init__(
        self, offer: GatewayOffer, base_url: str, webhooks: WebhookVerifier, checkout_prefix: str = "demo_"
    ) -> None:
        self._offer = offer
        self._base_url = base_url.rstrip("/")
        self._webhooks = webhooks
        self._checkout_prefix = checkout_prefix  # the simulated gateway's ids look like the real one's

    @property
    def offer(self) -> GatewayOffer:
        return self._offer

    def initiate_checkout(self, request: CheckoutRequest) -> Checkout:
        checkout_id = f"{self._checkout_prefix}{request.reference}"
        return Checkout(f"{self._base_url}/demo/checkout/{request.payment_id}", checkout_id)

    def resume_checkout(self, request: CheckoutRequest) -> Checkout:
        """Opening again is safe: the demo page is made here, from the payment alone."""
        return self.initiate_checkout(request)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        return self._webhooks.parse_webhook(body, headers)

    def fetch_status(self, payment: PaymentView) -> GatewayEvent | None:
        return None
