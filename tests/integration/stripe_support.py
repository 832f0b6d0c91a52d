"""The app with Stripe for real (against the fake Stripe), signed-in users, and webhooks signed as Stripe signs."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import uvicorn
from litestar.testing import TestClient

from entrypoints.bootstrap import Services, bootstrap
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.fake_stripe import API_KEY, FakeStripe
from tests.integration.support import SESSION_SECRET, sign_in

WEBHOOK_SECRET = "whsec_current_0123456789"
OLD_WEBHOOK_SECRET = "whsec_previous_9876543210"
PUBLIC_BASE_URL = "https://mcpay.test"


def stripe_settings(database_url: str, api_base: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "demo_payment": False,
        "session_secret": SESSION_SECRET,
        "public_base_url": PUBLIC_BASE_URL,
        "stripe_secret_key": API_KEY,
        "stripe_webhook_secrets": (WEBHOOK_SECRET,),
        "stripe_api_base": api_base,
        "reconcile_interval_seconds": 0,
        "reconcile_min_age_seconds": 0,
        **overrides,
    }
    return Settings(**values)


def stripe_signature(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's scheme, computed here: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>." + raw body))."""
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def stripe_event(kind: str, obj: Mapping[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_test_{secrets.token_hex(8)}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "type": kind,
        "data": {"object": dict(obj)},
    }


def charge(session: Mapping[str, Any], charge_id: str, amount_refunded: int) -> dict[str, Any]:
    return {
        "id": charge_id,
        "object": "charge",
        "amount": session["amount_total"],
        "amount_refunded": amount_refunded,
        "currency": session["currency"],
        "payment_intent": session["payment_intent"],
        "refunded": amount_refunded == session["amount_total"],
        "status": "succeeded",
    }


def dispute(session: Mapping[str, Any], charge_id: str) -> dict[str, Any]:
    return {
        "id": f"dp_test_{secrets.token_hex(8)}",
        "object": "dispute",
        "amount": session["amount_total"],
        "currency": session["currency"],
        "charge": charge_id,
        "payment_intent": session["payment_intent"],
        "reason": "fraudulent",
        "status": "needs_response",
    }


@dataclass
class StripeApp:
    fake: FakeStripe
    services: Services
    client: TestClient[Any]
    auth: dict[str, str]

    def initiate(self, amount: str = "25.00", currency: str = "USD", **extra: Any) -> httpx.Response:
        body = {"amount": amount, "currency": currency, "gateway": "stripe", **extra}
        return self.client.post("/api/payments/initiate", json=body, headers=self.auth)

    def pending_payment(self, amount: str = "25.00", currency: str = "USD") -> tuple[dict[str, Any], dict[str, Any]]:
        """A new payment (201) and its session at the fake Stripe."""
        answer = self.initiate(amount, currency)
        assert answer.status_code == 201, answer.text
        payment = answer.json()
        session = next(s for s in self.fake.sessions.values() if s["client_reference_id"] == payment["reference"])
        return payment, session

    def deliver(
        self, kind: str, obj: Mapping[str, Any], secret: str = WEBHOOK_SECRET, event_id: str | None = None
    ) -> httpx.Response:
        body = json.dumps(stripe_event(kind, obj, event_id)).encode()
        return self.post_webhook(body, {"Stripe-Signature": stripe_signature(body, secret)})

    def post_webhook(self, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        return self.client.post(
            "/api/webhooks/stripe", content=body, headers={"Content-Type": "application/json", **headers}
        )

    def paid(self, payment: Mapping[str, Any]) -> dict[str, Any]:
        """The payment's session completed and paid, its webhook delivered and credited."""
        session = self.fake.complete(self.session_id(payment))
        answer = self.deliver("checkout.session.completed", session)
        assert answer.json()["result"] == "confirmed", answer.text
        return session

    def session_id(self, payment: Mapping[str, Any]) -> str:
        return str(self.fake_session(payment)["id"])

    def fake_session(self, payment: Mapping[str, Any]) -> dict[str, Any]:
        return next(s for s in self.fake.sessions.values() if s["client_reference_id"] == payment["reference"])

    def payment(self, payment_id: str) -> dict[str, Any]:
        answer = self.client.get(f"/api/payments/{payment_id}", headers=self.auth)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def payments(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.client.get("/api/payments", headers=self.auth).json()["items"]
        return items

    def wallet(self) -> dict[str, Any]:
        result: dict[str, Any] = self.client.get("/api/wallet", headers=self.auth).json()
        return result

    def balance(self) -> Decimal:
        return Decimal(self.wallet()["balance"])


@contextmanager
def stripe_app(
    fake: FakeStripe, database_url: str, api_base: str | None = None, **overrides: Any
) -> Iterator[StripeApp]:
    """The whole app, Stripe configured for real, reached through the Litestar test client."""
    services = bootstrap(stripe_settings(database_url, api_base or fake.url, **overrides))
    with TestClient(app=create_app(services)) as client:
        yield StripeApp(fake, services, client, sign_in(client).auth)


@contextmanager
def served(services: Services) -> Iterator[str]:
    """The app served by uvicorn on a free localhost port (no lifespan: `services` stay open)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(services), lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
