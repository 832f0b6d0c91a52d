"""Demo mode: the real webhook path with a simulated checkout page on this service."""

from __future__ import annotations

from collections.abc import Mapping

from application.gateways import Checkout, CheckoutRequest, GatewayEvent, GatewayOffer
from application.ports import WebhookVerifier
from application.views import PaymentView


class DemoGateway:
    """Checkouts open the local demo page; webhooks are verified by the gateway's real verifier."""

    def __init__(self, offer: GatewayOffer, base_url: str, webhooks: WebhookVerifier) -> None:
        self._offer = offer
        self._base_url = base_url.rstrip("/")
        self._webhooks = webhooks

    @property
    def offer(self) -> GatewayOffer:
        return self._offer

    def initiate_checkout(self, request: CheckoutRequest) -> Checkout:
        return Checkout(f"{self._base_url}/demo/checkout/{request.payment_id}", f"demo_{request.reference}")

    def resume_checkout(self, request: CheckoutRequest) -> Checkout:
        """Opening again is safe: the demo page is made here, from the payment alone."""
        return self.initiate_checkout(request)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        return self._webhooks.parse_webhook(body, headers)

    def fetch_status(self, payment: PaymentView) -> GatewayEvent | None:
        return None
