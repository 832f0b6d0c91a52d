"""ClickPesa for real, through mcpay's HTTP API, against a fake ClickPesa over real HTTP."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar.testing import TestClient
from nacl.signing import SigningKey

from application.replay import ledger_events
from entrypoints.bootstrap import Services, bootstrap, configured_gateways
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.clickpesa_fake import (
    API_KEY,
    CHECKSUM_KEY,
    CLIENT_ID,
    FakeClickPesa,
    checksum_of,
    running,
    signed_webhook,
)
from tests.integration.support import SESSION_SECRET, event_counts, last_position

pytestmark = pytest.mark.integration


def live_settings(fake: FakeClickPesa, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "demo_payment": False,
        "session_secret": SESSION_SECRET,
        "clickpesa_client_id": CLIENT_ID,
        "clickpesa_api_secret": API_KEY,
        "clickpesa_webhook_secret": CHECKSUM_KEY,
        "clickpesa_api_base": fake.url,
        "reconcile_interval_seconds": 0,
        "reconcile_min_age_seconds": 0,
        **overrides,
    }
    return Settings(**values)


@dataclass
class Api:
    """mcpay's HTTP API, signed in as one user."""

    client: TestClient[Any]
    services: Services
    fake: FakeClickPesa
    token: str = ""

    def sign_in(self) -> Api:
        key = SigningKey.generate()
        public_key = key.verify_key.encode().hex()
        challenge = self.client.post("/api/auth/challenge", json={"public_key": public_key}).json()["challenge"]
        signature = key.sign(challenge.encode()).signature.hex()
        answer = self.client.post(
            "/api/auth/session", json={"public_key": public_key, "challenge": challenge, "signature": signature}
        )
        self.token = answer.json()["token"]
        return self

    def initiate(self, amount: str, currency: str = "TZS", **extra: str) -> httpx.Response:
        body = {"amount": amount, "currency": currency, "gateway": "clickpesa", **extra}
        return self.client.post("/api/payments/initiate", json=body, headers=self._auth)

    def paid_for(self, amount: str, currency: str = "TZS") -> dict[str, Any]:
        answer = self.initiate(amount, currency)
        assert answer.status_code == 201, answer.text
        payment: dict[str, Any] = answer.json()
        return payment

    def payment(self, payment_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.client.get(f"/api/payments/{payment_id}", headers=self._auth).json()
        return answer

    def payments(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.client.get("/api/payments", headers=self._auth).json()["items"]
        return items

    def balance(self) -> str:
        balance: str = self.client.get("/api/wallet", headers=self._auth).json()["balance"]
        return balance

    def webhook(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.client.post(
            "/api/webhooks/clickpesa", content=body, headers={"content-type": "application/json", **(headers or {})}
        )

    @property
    def _auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@pytest.fixture
def fake() -> Iterator[FakeClickPesa]:
    with running(FakeClickPesa()) as server:
        yield server


def serve(fake: FakeClickPesa, database_url: str) -> Iterator[Api]:
    services = bootstrap(live_settings(fake, database_url))
    with TestClient(create_app(services)) as client:
        yield Api(client, services, fake).sign_in()


@pytest.fixture
def api(fake: FakeClickPesa, sqlite_url: str) -> Iterator[Api]:
    yield from serve(fake, sqlite_url)


def received(record: dict[str, Any], event: str = "PAYMENT RECEIVED") -> dict[str, Any]:
    return {"event": event, "data": record}


# --- offered ---------------------------------------------------------------------------------


def test_clickpesa_is_offered_live_for_tzs_and_usd(api: Api) -> None:
    offers = {offer["name"]: offer for offer in api.client.get("/api/payments/gateways").json()}
    assert offers["clickpesa"]["currencies"] == ["TZS", "USD"]
    assert offers["clickpesa"]["demo"] is False
    assert "stripe" not in offers or offers["stripe"]["demo"] is False


@pytest.mark.parametrize("missing", ["clickpesa_client_id", "clickpesa_api_secret", "clickpesa_webhook_secret"])
def test_clickpesa_is_not_offered_until_its_settings_are_complete(fake: FakeClickPesa, missing: str) -> None:
    assert "clickpesa" not in configured_gateways(live_settings(fake, "memory:", **{missing: ""}))


def test_only_currencies_with_a_credit_rate_are_offered(fake: FakeClickPesa) -> None:
    settings = live_settings(fake, "memory:", credit_rates={"USD": Decimal(1), "EUR": Decimal("1.08")})
    assert configured_gateways(settings)["clickpesa"].offer.currencies == ("USD",)


# --- checkout --------------------------------------------------------------------------------


def test_a_top_up_opens_a_clickpesa_checkout(api: Api) -> None:
    answer = api.initiate("10000", "TZS", email="asha@example.tz")

    assert answer.status_code == 201, answer.text
    payment = answer.json()
    assert payment["status"] == "pending"
    assert payment["credits"] == "3.70"
    assert payment["payment_url"] == f"{api.fake.url}/checkout/{payment['reference']}"
    [body] = api.fake.checkout_requests
    assert body == {
        "totalPrice": "10000.00",
        "orderReference": payment["reference"],
        "orderCurrency": "TZS",
        "customerEmail": "asha@example.tz",
        "description": "3.70 Mycelium Credits",
        "checksum": checksum_of(body),
    }


def test_an_application_without_checksums_gets_unsigned_requests(fake: FakeClickPesa, sqlite_url: str) -> None:
    fake.checksum_key = None
    services = bootstrap(live_settings(fake, sqlite_url, clickpesa_request_checksum=False))
    with TestClient(create_app(services)) as client:
        answer = Api(client, services, fake).sign_in().initiate("5000", "TZS")
    assert answer.status_code == 201, answer.text
    [body] = fake.checkout_requests
    assert "checksum" not in body


def test_many_top_ups_share_one_token(api: Api) -> None:
    for amount in ("5.00", "6.00", "7.00", "8.00"):
        assert api.initiate(amount, "USD").status_code == 201
    assert api.fake.token_calls == 1
    assert len(api.fake.checkout_requests) == 4


def test_a_currency_clickpesa_does_not_take_is_refused_before_any_call(api: Api) -> None:
    answer = api.initiate("10.00", "EUR")
    assert answer.status_code == 422
    assert api.fake.received == []


def test_clickpesa_down_is_a_503_and_the_payment_is_recorded_failed(api: Api) -> None:
    api.fake.down = True
    answer = api.initiate("10000", "TZS")

    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["type"] == "/problems/gateway-unavailable"
    assert API_KEY not in answer.text and CHECKSUM_KEY not in answer.text
    [payment] = api.payments()
    assert payment["status"] == "failed"
    assert payment["payment_url"] is None or "payment_url" not in payment


@pytest.mark.parametrize(
    ("status", "message"), [(409, "Order reference already used"), (400, "Invalid Order Reference")]
)
def test_a_clickpesa_refusal_is_a_502_and_the_payment_is_recorded_failed(api: Api, status: int, message: str) -> None:
    api.fake.checkout_error = (status, {"message": message})
    answer = api.initiate("10000", "TZS")

    assert answer.status_code == 502
    assert answer.json()["type"] == "/problems/gateway-refused"
    assert message in answer.json()["detail"]
    assert [payment["status"] for payment in api.payments()] == ["failed"]
    assert api.balance() == "0.00"


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ((200, [{"checkoutLink": "https://checkout.clickpesa.test/x"}]), "a JSON list"),
        ((200, {"clientId": CLIENT_ID}), "without a checkoutLink"),
        ((201, {"checkoutLink": "javascript:alert(1)"}), "without a checkoutLink"),
        ((200, b"<html>maintenance</html>"), "not JSON"),
    ],
)
def test_a_2xx_in_an_odd_shape_is_a_502_and_the_payment_is_recorded_failed(
    api: Api, answer: tuple[int, Any], said: str
) -> None:
    api.fake.checkout_error = answer
    response = api.initiate("10000", "TZS")

    assert response.status_code == 502, response.text
    assert response.json()["type"] == "/problems/gateway-refused"
    assert said in response.json()["detail"]
    [payment] = api.payments()
    assert payment["status"] == "failed"
    assert payment["payment_url"] is None
    reason = api.services.ledger.payment(UUID(payment["payment_id"])).status_reason
    assert reason is not None and said in reason


# --- webhooks --------------------------------------------------------------------------------


def test_a_paid_webhook_credits_exactly_once(api: Api) -> None:
    payment = api.paid_for("10000", "TZS")
    body = signed_webhook(received(api.fake.record_payment(payment["reference"])))

    first = api.webhook(body)
    assert (first.status_code, first.json()["result"]) == (200, "confirmed")
    position = last_position(api.services.ledger)
    again = api.webhook(body)
    assert (again.status_code, again.json()["result"]) == (200, "duplicate")

    assert api.payment(payment["payment_id"])["status"] == "confirmed"
    assert api.balance() == "3.70"
    assert last_position(api.services.ledger) == position
    assert event_counts(api.services.ledger)["CreditsToppedUp"] == 1


def test_the_confirmation_records_clickpesa_evidence(api: Api) -> None:
    payment = api.paid_for("10000", "TZS")
    record = api.fake.record_payment(payment["reference"], "SETTLED", channel="M-PESA")
    body = signed_webhook(received(record))
    assert api.webhook(body).json()["result"] == "confirmed"

    [event] = [e for _, e in ledger_events(api.services.ledger) if type(e).__name__ == "PaymentConfirmed"]
    assert str(event.originator_id) == payment["payment_id"]
    evidence = event.evidence
    assert evidence["clickpesa_payment_id"] == record["id"]
    assert evidence["payment_reference"] == record["paymentReference"]
    assert evidence["channel"] == "M-PESA"
    assert evidence["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert CHECKSUM_KEY not in json.dumps(evidence)


def test_the_older_event_type_field_and_numeric_amounts_are_read(api: Api) -> None:
    payment = api.paid_for("12.50", "USD")
    record = api.fake.record_payment(payment["reference"], collectedAmount=12.5, collectedCurrency="USD")
    answer = api.webhook(signed_webhook({"eventType": "PAYMENT RECEIVED", "data": record}))
    assert answer.json()["result"] == "confirmed"
    assert api.balance() == "12.50"


def test_a_non_ascii_customer_name_verifies(api: Api) -> None:
    payment = api.paid_for("10000", "TZS")
    record = api.fake.record_payment(payment["reference"], customer={"customerName": "Zuhura Ñandú — 张伟"})
    assert api.webhook(signed_webhook(received(record))).json()["result"] == "confirmed"


def test_a_failed_payment_credits_nothing(api: Api) -> None:
    payment = api.paid_for("10000", "TZS")
    record = api.fake.record_payment(payment["reference"], "FAILED")
    answer = api.webhook(signed_webhook(received(record, "PAYMENT FAILED")))

    assert answer.json()["result"] == "failed"
    assert api.payment(payment["payment_id"])["status"] == "failed"
    assert api.balance() == "0.00"


@pytest.mark.parametrize(
    ("paid", "currency"), [("9999", "TZS"), ("10000.01", "TZS"), ("10000", "USD")], ids=["less", "more", "currency"]
)
def test_a_payment_that_differs_goes_to_review_without_credit(api: Api, paid: str, currency: str) -> None:
    payment = api.paid_for("10000", "TZS")
    record = api.fake.record_payment(payment["reference"], collectedAmount=paid, collectedCurrency=currency)

    assert api.webhook(signed_webhook(received(record))).json()["result"] == "needs_review"
    assert api.payment(payment["payment_id"])["status"] == "needs_review"
    assert api.balance() == "0.00"


def test_an_unknown_reference_is_acknowledged_and_recorded_unmatched(api: Api) -> None:
    body = signed_webhook(received(api.fake.record_payment("MCNOSUCHORDER1")))
    answer = api.webhook(body)
    assert (answer.status_code, answer.json()["result"]) == (200, "unmatched")
    position = last_position(api.services.ledger)

    assert api.webhook(body).json()["result"] == "unmatched"
    assert last_position(api.services.ledger) == position


def _tampered(body: bytes) -> bytes:
    return body.replace(b'"10000.00"', b'"1000000.00"')


def _wrong_key(payload: dict[str, Any]) -> bytes:
    return signed_webhook(payload, key="not-the-account-key")


def _unsigned(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    "forge",
    [lambda p: _tampered(signed_webhook(p)), _wrong_key, _unsigned],
    ids=["tampered", "wrong-key", "no-checksum"],
)
def test_a_webhook_that_fails_verification_is_a_400_and_records_nothing(api: Api, forge: Any) -> None:
    payment = api.paid_for("10000", "TZS")
    payload = received(api.fake.record_payment(payment["reference"]))
    body = forge(payload)
    assert json.loads(body) != {**payload, "checksum": checksum_of(payload), "checksumMethod": "canonical"}
    position = last_position(api.services.ledger)

    answer = api.webhook(body)

    assert answer.status_code == 400
    assert answer.json()["type"] == "/problems/webhook-rejected"
    assert last_position(api.services.ledger) == position
    assert api.payment(payment["payment_id"])["status"] == "pending"
    assert api.balance() == "0.00"


# --- reconciliation --------------------------------------------------------------------------


def test_reconciliation_credits_a_payment_whose_webhook_never_came(api: Api) -> None:
    payment = api.paid_for("10000", "TZS")
    still_waiting = api.fake.record_payment(payment["reference"], "PROCESSING")
    assert api.services.reconciler.run_once().outcomes == {"no-news": 1}

    still_waiting["status"] = "SUCCESS"
    report = api.services.reconciler.run_once()

    assert report.outcomes == {"confirmed": 1}
    assert api.payment(payment["payment_id"])["status"] == "confirmed"
    assert api.balance() == "3.70"
    late = api.webhook(signed_webhook(received(still_waiting)))
    assert late.json()["result"] == "duplicate"
    assert event_counts(api.services.ledger)["CreditsToppedUp"] == 1
    assert api.services.reconciler.run_once().examined == 0


def test_reconciliation_fails_a_failed_payment_and_skips_unknown_ones(api: Api) -> None:
    failed = api.paid_for("10000", "TZS")
    unknown = api.paid_for("20000", "TZS")
    api.fake.record_payment(failed["reference"], "FAILED")

    report = api.services.reconciler.run_once()

    assert report.outcomes == {"failed": 1, "no-news": 1}
    assert api.payment(failed["payment_id"])["status"] == "failed"
    assert api.payment(unknown["payment_id"])["status"] == "pending"


def test_reconciliation_counts_clickpesa_being_down_as_an_error(api: Api) -> None:
    api.paid_for("10000", "TZS")
    api.fake.down = True
    report = api.services.reconciler.run_once()
    assert (report.examined, report.errors, report.outcomes) == (1, 1, {})


# --- PostgreSQL and demo mode ----------------------------------------------------------------


@pytest.mark.postgres
def test_the_happy_path_on_postgresql(fake: FakeClickPesa, postgres_url: str) -> None:
    for api in serve(fake, postgres_url):
        by_webhook = api.paid_for("10000", "TZS")
        by_polling = api.paid_for("25.00", "USD")
        body = signed_webhook(received(fake.record_payment(by_webhook["reference"])))
        assert api.webhook(body).json()["result"] == "confirmed"
        assert api.webhook(body).json()["result"] == "duplicate"
        fake.record_payment(by_polling["reference"], "SETTLED")
        assert api.services.reconciler.run_once().outcomes == {"confirmed": 1}

        assert {p["status"] for p in api.payments()} == {"confirmed"}
        assert api.balance() == "28.70"
        assert fake.token_calls == 1


def test_demo_mode_still_settles_clickpesa_through_the_real_webhook(sqlite_url: str) -> None:
    services = bootstrap(Settings(database_url=sqlite_url, session_secret=SESSION_SECRET, reconcile_interval_seconds=0))
    with TestClient(create_app(services)) as client:
        api = Api(client, services, FakeClickPesa()).sign_in()
        payment = api.paid_for("10000", "TZS")
        assert payment["payment_url"].endswith(f"/demo/checkout/{payment['payment_id']}")

        answer = client.post(f"/demo/checkout/{payment['payment_id']}/pay", follow_redirects=False)

        assert answer.status_code == 303
        assert api.payment(payment["payment_id"])["status"] == "confirmed"
        assert api.balance() == "3.70"
