"""Builds the webhook ClickPesa would send for a demo payment, with its canonical checksum."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

from adapters.clickpesa.checksum import checksum
from application.views import PaymentView


class ClickPesaSimulator:
    def __init__(self, webhook_secret: str) -> None:
        self._secret = webhook_secret

    def simulate(self, payment: PaymentView, outcome: str) -> tuple[bytes, dict[str, str]]:
        paid = outcome == "pay"
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        payload: dict[str, object] = {
            "event": "PAYMENT RECEIVED" if paid else "PAYMENT FAILED",
            "data": {
                "id": f"DEMO{secrets.token_hex(8).upper()}",
                "status": "SUCCESS" if paid else "FAILED",
                "paymentReference": f"DEMO-{payment.reference}",
                "orderReference": payment.reference,
                "collectedAmount": str(payment.amount),
                "collectedCurrency": payment.currency,
                "message": "success" if paid else "insufficient balance",
                "channel": "DEMO-MOBILE-MONEY",
                "updatedAt": now,
                "createdAt": now,
                "customer": {"customerName": "Demo Payer"},
            },
            "checksumMethod": "canonical",
        }
        payload["checksum"] = checksum(payload, self._secret)
        body = json.dumps(payload, ensure_ascii=False).encode()
        return body, {"Content-Type": "application/json"}
