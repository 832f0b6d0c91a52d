"""`mcpay webhook sign`: test webhooks signed with the deployment's own secret, accepted by its endpoints."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.clickpesa.webhooks import ClickPesaWebhooks
from application.gateways import Outcome
from application.payments import TopUpOrder
from entrypoints.bootstrap import bootstrap
from entrypoints.cli import main
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.fake_stripe import FakeStripe
from tests.integration.stripe_support import WEBHOOK_SECRET, stripe_app, stripe_event
from tests.integration.support import SESSION_SECRET

pytestmark = pytest.mark.integration

CLICKPESA_SECRET = "clickpesa-checksum-key-for-tests"


def sign_file(capsys: pytest.CaptureFixture[str], gateway: str, path: Path) -> str:
    assert main(["webhook", "sign", "--gateway", gateway, str(path)]) == 0
    return capsys.readouterr().out.strip()


def test_stripe_prints_the_signature_header_with_the_first_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_first_one,whsec_second_one")
    body = b'{"id": "evt_1", "object": "event", "type": "customer.created", "data": {"object": {}}}\n'
    (path := tmp_path / "event.json").write_bytes(body)
    header = sign_file(capsys, "stripe", path)
    fields = dict(part.split("=", 1) for part in header.split(","))
    assert abs(int(fields["t"]) - time.time()) < 60
    expected = hmac.new(b"whsec_first_one", fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert fields["v1"] == expected
    assert "whsec_" not in header


def test_a_signed_file_is_accepted_by_the_stripe_endpoint(
    fake: FakeStripe,
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    with stripe_app(fake, sqlite_url) as app:
        payment, session = app.pending_payment()
        body = json.dumps(stripe_event("checkout.session.completed", fake.complete(session["id"])), indent=2)
        (path := tmp_path / "paid.json").write_text(body + "\n")
        header = sign_file(capsys, "stripe", path)
        answer = app.post_webhook(path.read_bytes(), {"Stripe-Signature": header})
        assert answer.json()["result"] == "confirmed"
        assert app.payment(payment["payment_id"])["status"] == "confirmed"


def test_in_demo_mode_the_derived_secret_signs(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SESSION_SECRET", SESSION_SECRET)
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    services = bootstrap(Settings(database_url=sqlite_url, session_secret=SESSION_SECRET))
    with TestClient(app=create_app(services)) as client:
        view = services.payments.initiate("d" * 64, TopUpOrder("12.00", "USD", "stripe")).payment
        body, _ = services.simulators["stripe"].simulate(view, "pay")
        (path := tmp_path / "demo.json").write_bytes(body)
        header = sign_file(capsys, "stripe", path)
        answer = client.post("/api/webhooks/stripe", content=body, headers={"Stripe-Signature": header})
        assert answer.json()["result"] == "confirmed"


def canonical_checksum(payload: dict[str, Any], secret: str) -> str:
    unsigned = {k: v for k, v in payload.items() if k not in ("checksum", "checksumMethod")}
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(secret.encode(), canonical, hashlib.sha256).hexdigest()


def test_clickpesa_prints_the_body_with_its_canonical_checksum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLICKPESA_WEBHOOK_SECRET", CLICKPESA_SECRET)
    payload = {
        "event": "PAYMENT RECEIVED",
        "data": {
            "id": "CPX1",
            "status": "SUCCESS",
            "orderReference": "MCABC123",
            "collectedAmount": "1000.00",
            "collectedCurrency": "TZS",
            "customer": {"customerName": "Zuhura Mwinyi"},
        },
    }
    (path := tmp_path / "clickpesa.json").write_text(json.dumps(payload))
    signed = json.loads(sign_file(capsys, "clickpesa", path))
    assert signed["checksum"] == canonical_checksum(payload, CLICKPESA_SECRET)
    assert {k: v for k, v in signed.items() if k != "checksum"} == payload
    assert CLICKPESA_SECRET not in json.dumps(signed)
    event = ClickPesaWebhooks(CLICKPESA_SECRET).parse_webhook(json.dumps(signed).encode(), {})
    assert (event.outcome, event.reference) == (Outcome.PAID, "MCABC123")


@pytest.mark.parametrize("content", [b"not json", b"[1, 2]", b"\xff\xfe"])
@pytest.mark.parametrize("gateway", ["stripe", "clickpesa"])
def test_a_file_that_is_not_a_json_object_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, gateway: str
) -> None:
    (path := tmp_path / "bad.json").write_bytes(content)
    assert main(["webhook", "sign", "--gateway", gateway, str(path)]) == 2
    assert "JSON" in capsys.readouterr().err


def test_a_missing_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["webhook", "sign", "--gateway", "stripe", str(tmp_path / "absent.json")]) == 2
    assert "absent.json" in capsys.readouterr().err
