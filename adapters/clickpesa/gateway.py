"""ClickPesa hosted checkout: links opened over the API, webhooks verified, payments queried."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.clickpesa.checksum import canonical_json, checksum
from adapters.clickpesa.client import ClickPesaClient
from adapters.clickpesa.records import (
    FAILED_STATUS,
    PAID_STATUSES,
    WAITING_STATUSES,
    UnreadableRecord,
    payment_event,
    status_of,
)
from adapters.clickpesa.webhooks import ClickPesaWebhooks
from application.errors import GatewayRefused
from application.gateways import Checkout, CheckoutRequest, GatewayEvent, GatewayOffer, Outcome
from application.views import PaymentView
from domain.errors import DomainError


class ClickPesaGateway:
    """`checksum_key` signs request bodies (accounts with checksums on); None sends none."""

    def __init__(
        self, offer: GatewayOffer, client: ClickPesaClient, webhooks: ClickPesaWebhooks, checksum_key: str | None
    ) -> None:
        self._offer = offer
        self._client = client
        self._webhooks = webhooks
        self._checksum_key = checksum_key

    @property
    def offer(self) -> GatewayOffer:
        return self._offer

    def initiate_checkout(self, request: CheckoutRequest) -> Checkout:
        if not (request.reference.isascii() and request.reference.isalnum()):
            raise GatewayRefused("ClickPesa order references are letters and digits only")
        link = self._client.generate_checkout_url(checkout_body(request, self._checksum_key))
        return Checkout(link, request.reference)

    def resume_checkout(self, request: CheckoutRequest) -> Checkout:
        """Opening again is safe: ClickPesa refuses an orderReference it already holds (409), so none is made twice."""
        return self.initiate_checkout(request)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        return self._webhooks.parse_webhook(body, headers)

    def fetch_status(self, payment: PaymentView) -> GatewayEvent | None:
        records = self._client.payments(payment.reference)
        if not records:
            return None
        try:
            return status_event(payment.reference, records)
        except (UnreadableRecord, DomainError) as error:
            raise GatewayRefused(f"ClickPesa's record of {payment.reference} could not be read: {error}") from None

    def close(self) -> None:
        self._client.close()


def checkout_body(request: CheckoutRequest, checksum_key: str | None) -> dict[str, str]:
    body = {
        "totalPrice": str(request.price.amount),
        "orderReference": request.reference,
        "orderCurrency": request.price.currency,
        "description": request.description,
    }
    if request.customer_email:
        body["customerEmail"] = request.customer_email
    if request.customer_name:
        body["customerName"] = request.customer_name
    if checksum_key:
        body["checksum"] = checksum(body, checksum_key)
    return body


def status_event(reference: str, records: Sequence[Mapping[str, Any]]) -> GatewayEvent | None:
    """Paid if any attempt was paid; nothing while one is still under way; failed if all failed."""
    mine = [record for record in records if record.get("orderReference", reference) == reference]
    statuses = [status_of(record) for record in mine]
    for record, status in zip(mine, statuses, strict=True):
        if status in PAID_STATUSES:
            return payment_event({"orderReference": reference, **record}, Outcome.PAID, _evidence(record))
    if any(status in WAITING_STATUSES for status in statuses):
        return None
    for record, status in zip(mine, statuses, strict=True):
        if status == FAILED_STATUS:
            return payment_event({"orderReference": reference, **record}, Outcome.FAILED, _evidence(record))
    return None


def _evidence(record: Mapping[str, Any]) -> dict[str, str]:
    return {"source": "reconciliation", "record_sha256": hashlib.sha256(canonical_json(record)).hexdigest()}
