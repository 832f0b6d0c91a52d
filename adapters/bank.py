"""Bank transfers: the payer is shown our bank details and a reference; an admin confirms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from application.errors import WebhookRejected
from application.gateways import Checkout, CheckoutRequest, GatewayEvent, GatewayOffer, Outcome
from application.ports import Clock
from application.views import PaymentView

DEFAULT_EXPIRY = timedelta(days=14)


@dataclass(frozen=True)
class BankAccount:
    bank_name: str
    account_name: str
    account_number: str
    swift_code: str


class BankGateway:
    """Reconciliation expires transfers that no admin confirmed within `expiry`."""

    def __init__(
        self,
        offer: GatewayOffer,
        account: BankAccount,
        base_url: str,
        clock: Clock,
        expiry: timedelta = DEFAULT_EXPIRY,
    ) -> None:
        self._offer = offer
        self._account = account
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._expiry = expiry

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

    def resume_checkout(self, request: CheckoutRequest) -> Checkout:
        """Opening again is safe: the instructions are made here, from the payment alone."""
        return self.initiate_checkout(request)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        raise WebhookRejected("bank transfers have no webhooks: an admin confirms them")

    def fetch_status(self, payment: PaymentView) -> GatewayEvent | None:
        """EXPIRED once the transfer is older than the expiry and no admin has confirmed it yet."""
        deadline = payment.created_at + self._expiry
        if payment.approvals or self._clock.now() < deadline:
            return None
        evidence = {
            "reason": f"no transfer was confirmed within {self._expiry.days} days",
            "expired_at": deadline.isoformat(),
        }
        key = f"bank:{payment.reference}:expired"
        return GatewayEvent("bank", Outcome.EXPIRED, payment.reference, key, None, evidence)
