"""A restarted service on the same store sees everything the first one recorded, sessions included."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from litestar.testing import TestClient
from nacl.signing import SigningKey

from application.payments import TopUpOrder
from application.replay import check_balances
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.read_side_support import caught_up
from tests.integration.support import SESSION_SECRET

pytestmark = pytest.mark.integration

USER = "d" * 64


def settings(url: str, secret: str = SESSION_SECRET) -> Settings:
    return Settings(database_url=url, session_secret=secret)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def durable_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def test_a_second_instance_sees_payments_wallets_and_handled_deliveries(durable_url: str) -> None:
    first = bootstrap(settings(durable_url))
    paid = first.payments.initiate(USER, TopUpOrder("10.00", "USD", "stripe")).payment
    delivered = first.simulators["stripe"].simulate(paid, "pay")
    assert first.payments.receive_webhook("stripe", *delivered) == "confirmed"
    pending = first.payments.initiate(USER, TopUpOrder("4.00", "EUR", "stripe")).payment
    in_flight = first.simulators["stripe"].simulate(pending, "pay")
    before = (caught_up(first).payments_of(USER), caught_up(first).wallet_of(USER))
    first.close()

    second = bootstrap(settings(durable_url))
    try:
        assert (caught_up(second).payments_of(USER), caught_up(second).wallet_of(USER)) == before
        assert second.payments.receive_webhook("stripe", *delivered) == "duplicate"
        assert second.payments.receive_webhook("stripe", *in_flight) == "confirmed"
        wallet = caught_up(second).wallet_of(USER)
        assert wallet.balance == Decimal("14.32")  # 10.00 + 4.00 EUR x 1.08
        assert [entry.payment_id for entry in wallet.entries] == [pending.payment_id, paid.payment_id]
        assert [check.agrees for check in check_balances(second.ledger)] == [True]
    finally:
        second.close()


def signed_in(client: TestClient[Any], key: SigningKey) -> tuple[dict[str, str], str]:
    """Auth headers for a new session of `key`, and the challenge that opened it."""
    public_key = key.verify_key.encode().hex()
    challenge = client.post("/api/auth/challenge", json={"public_key": public_key}).json()["challenge"]
    session = client.post("/api/auth/session", json=session_request(key, challenge))
    assert session.status_code == 200, session.text
    return {"Authorization": f"Bearer {session.json()['token']}"}, challenge


def session_request(key: SigningKey, challenge: str) -> dict[str, str]:
    signature = key.sign(challenge.encode()).signature.hex()
    return {"public_key": key.verify_key.encode().hex(), "challenge": challenge, "signature": signature}


def test_a_restarted_app_keeps_payments_balances_and_sessions(sqlite_url: str) -> None:
    key = SigningKey.generate()
    first: Services = bootstrap(settings(sqlite_url))
    with TestClient(app=create_app(first)) as client:
        kept, used_challenge = signed_in(client, key)
        revoked, _ = signed_in(client, key)
        payment = client.post(
            "/api/payments/initiate", json={"amount": "12.50", "currency": "USD", "gateway": "stripe"}, headers=kept
        ).json()
        assert client.post(f"/demo/checkout/{payment['payment_id']}/pay", follow_redirects=False).status_code == 303
        assert client.delete("/api/auth/session", headers=revoked).status_code == 204
        payments_before = client.get("/api/payments", headers=kept).json()
        wallet_before = client.get("/api/wallet", headers=kept).json()
    first.close()  # also closed by the app's shutdown hook: closing twice must be harmless
    assert wallet_before["balance"] == "12.50"
    assert [p["status"] for p in payments_before["items"]] == ["confirmed"]

    with TestClient(app=create_app(bootstrap(settings(sqlite_url)))) as client:
        assert client.get("/api/auth/me", headers=kept).json()["user_id"] == key.verify_key.encode().hex()
        assert client.get("/api/payments", headers=kept).json() == payments_before
        assert client.get(f"/api/payments/{payment['payment_id']}", headers=kept).json() == payments_before["items"][0]
        assert client.get("/api/wallet", headers=kept).json() == wallet_before
        assert client.get("/api/auth/me", headers=revoked).status_code == 401
        assert client.post("/api/auth/session", json=session_request(key, used_challenge)).status_code == 401

    other_secret = settings(sqlite_url, secret="another-session-secret-0123456789abcdef")
    with TestClient(app=create_app(bootstrap(other_secret))) as client:
        assert client.get("/api/auth/me", headers=kept).status_code == 401  # tokens hang on SESSION_SECRET
