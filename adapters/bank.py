"""Bank transfers: the payer is shown our bank details and a reference; an admin confirms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from application.errors import WebhookRejected
from application.gateways import Checkout, CheckoutRequest, GatewayEvent, GatewayOffer
from application.views import PaymentView


@dataclass(frozen=True)
class BankAccount:
    bank_name: str
    account_name: str
    account_number: str
    swift_code: str


class BankGateway:
    def __init__(self, offer: GatewayOffer, account: BankAccount, base_url: str) -> None:
        self._offer = offer
        self._account = account
        self._base_url = base_url.rstrip("/")

    @property
    def offer(self) -> GatewayOffer:
        return self._offer

    def initiate_checkout(self, request: CheckoutRequest) -> Checkout:
        details = {
            "bank_name": self._account.bank_name,
            "account_name": self._account.account_name,
            "account_number": self._account.account_number,
            "swift_code": self._account.swift_code,
            "reference": request.reference,
        }
        return Checkout(f"{self._base_url}/#/bank/{request.payment_id}", request.reference, details)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        raise WebhookRejected("bank transfers have no webhooks: an admin confirms them")

    def fetch_status(self, payment: PaymentView) -> GatewayEvent | None:
        return None
