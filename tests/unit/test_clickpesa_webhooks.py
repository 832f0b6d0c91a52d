from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from adapters.clickpesa.simulator import ClickPesaSimulator
from adapters.clickpesa.webhooks import ClickPesaWebhooks
from application.errors import WebhookRejected
from application.gateways import Outcome
from application.views import PaymentView
from domain.money import Money
from domain.payment import Payment

pytestmark = pytest.mark.unit

SECRET = "clickpesa-checksum-key"


def payment_received(**data: Any) -> dict[str, Any]:
    fields = {
        "id": "LPX1234",
        "status": "SUCCESS",
        "paymentReference": "LPX1234-REF",
        "orderReference": "MCREF0001",
        "collectedAmount": "50000",
        "collectedCurrency": "TZS",
        "message": "success",
        "channel": "TIGO-PESA",
        "updatedAt": "2026-03-01T12:00:00Z",
        "createdAt": "2026-03-01T11:59:00Z",
        "customer": {"customerName": "Asha Juma", "customerPhoneNumber": "255712345678"},
    }
    return {"event": "PAYMENT RECEIVED", "data": {**fields, **data}}


def checksum_of(payload: dict[str, Any], secret: str = SECRET, *, ensure_ascii: bool = False) -> str:
    """ClickPesa's canonical method, computed here: drop the checksum fields, sort keys at every
    level, compact JSON without ASCII escaping, HMAC-SHA256, lowercase hex."""
    unsigned = {key: value for key, value in payload.items() if key not in ("checksum", "checksumMethod")}
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii)
    return hmac.new(secret.encode(), canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def signed_body(payload: dict[str, Any], secret: str = SECRET, *, ensure_ascii: bool = True) -> bytes:
    """The payload with its checksum, serialised as a sender might (spacing and key order are free)."""
    body = {**payload, "checksum": checksum_of(payload, secret), "checksumMethod": "canonical"}
    return json.dumps(body, ensure_ascii=ensure_ascii, indent=1).encode()


@pytest.fixture
def webhooks() -> ClickPesaWebhooks:
    return ClickPesaWebhooks(SECRET)


def test_a_payment_received_with_a_valid_checksum_is_a_payment(webhooks: ClickPesaWebhooks) -> None:
    body = signed_body(payment_received())
    event = webhooks.parse_webhook(body, {})
    assert event.gateway == "clickpesa"
    assert event.outcome is Outcome.PAID
    assert event.reference == "MCREF0001"
    assert event.paid == Money.of("50000", "TZS")
    assert event.key == "clickpesa:LPX1234:paid"
    assert event.evidence["clickpesa_payment_id"] == "LPX1234"
    assert event.evidence["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_a_settled_payment_is_also_paid(webhooks: ClickPesaWebhooks) -> None:
    assert webhooks.parse_webhook(signed_body(payment_received(status="SETTLED")), {}).outcome is Outcome.PAID


def test_a_payment_failed_event_is_a_failure(webhooks: ClickPesaWebhooks) -> None:
    payload = {**payment_received(status="FAILED", message="insufficient balance"), "event": "PAYMENT FAILED"}
    event = webhooks.parse_webhook(signed_body(payload), {})
    assert event.outcome is Outcome.FAILED
    assert event.reference == "MCREF0001"
    assert event.paid is None


@pytest.mark.parametrize(
    "payload",
    [
        {**payment_received(), "event": "PAYOUT INITIATED"},
        payment_received(status="PROCESSING"),
    ],
)
def test_other_events_name_no_payment(webhooks: ClickPesaWebhooks, payload: dict[str, Any]) -> None:
    event = webhooks.parse_webhook(signed_body(payload), {})
    assert event.outcome is Outcome.IRRELEVANT
    assert event.reference is None


@pytest.mark.parametrize(
    ("amount", "expected"), [("50000", "50000"), (50000, "50000"), (1234.5, "1234.50"), ("1234.50", "1234.50")]
)
def test_amounts_arrive_as_strings_or_json_numbers(
    webhooks: ClickPesaWebhooks, amount: str | int | float, expected: str
) -> None:
    body = signed_body(payment_received(collectedAmount=amount))
    assert webhooks.parse_webhook(body, {}).paid == Money.of(expected, "TZS")


def test_the_older_event_type_field_is_read(webhooks: ClickPesaWebhooks) -> None:
    payload = payment_received()
    payload["eventType"] = payload.pop("event")
    assert webhooks.parse_webhook(signed_body(payload), {}).outcome is Outcome.PAID


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_non_ascii_names_are_signed_unescaped_however_the_body_is_encoded(
    webhooks: ClickPesaWebhooks, ensure_ascii: bool
) -> None:
    payload = payment_received(customer={"customerName": "Zuhura Ñandú Mwanaisha — 张伟"})
    body = signed_body(payload, ensure_ascii=ensure_ascii)
    assert webhooks.parse_webhook(body, {}).outcome is Outcome.PAID


def test_a_checksum_over_ascii_escaped_json_is_rejected(webhooks: ClickPesaWebhooks) -> None:
    payload = payment_received(customer={"customerName": "Zuhura Ñandú"})
    body = json.dumps({**payload, "checksum": checksum_of(payload, ensure_ascii=True)}).encode()
    with pytest.raises(WebhookRejected, match="does not match"):
        webhooks.parse_webhook(body, {})


def test_the_checksum_may_arrive_in_a_header(webhooks: ClickPesaWebhooks) -> None:
    payload = payment_received()
    body = json.dumps(payload).encode()
    assert webhooks.parse_webhook(body, {"Checksum": checksum_of(payload)}).outcome is Outcome.PAID


def test_an_upper_case_checksum_is_accepted(webhooks: ClickPesaWebhooks) -> None:
    payload = payment_received()
    body = json.dumps({**payload, "checksum": checksum_of(payload).upper()}).encode()
    assert webhooks.parse_webhook(body, {}).outcome is Outcome.PAID


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body: body.replace(b'"50000"', b'"500000"'),
        lambda body: body.replace(b"MCREF0001", b"MCREF0002"),
        lambda body: body.replace(b'"SUCCESS"', b'"SETTLED"'),
    ],
    ids=["amount", "reference", "status"],
)
def test_a_tampered_body_is_rejected(webhooks: ClickPesaWebhooks, tamper: Any) -> None:
    body = signed_body(payment_received())
    tampered = tamper(body)
    assert tampered != body
    with pytest.raises(WebhookRejected, match="does not match"):
        webhooks.parse_webhook(tampered, {})


def test_a_checksum_made_with_another_secret_is_rejected(webhooks: ClickPesaWebhooks) -> None:
    with pytest.raises(WebhookRejected, match="does not match"):
        webhooks.parse_webhook(signed_body(payment_received(), secret="someone-else"), {})


@pytest.mark.parametrize("checksum", [None, "", 12345])
def test_a_missing_checksum_is_rejected(webhooks: ClickPesaWebhooks, checksum: object) -> None:
    payload: dict[str, Any] = payment_received()
    if checksum is not None:
        payload["checksum"] = checksum
    with pytest.raises(WebhookRejected, match="no checksum"):
        webhooks.parse_webhook(json.dumps(payload).encode(), {})


def test_the_legacy_checksum_method_is_refused_for_webhooks(webhooks: ClickPesaWebhooks) -> None:
    payload = payment_received()
    body = json.dumps({**payload, "checksum": checksum_of(payload), "checksumMethod": "legacy"}).encode()
    with pytest.raises(WebhookRejected, match="canonical"):
        webhooks.parse_webhook(body, {})


def test_without_a_secret_nothing_verifies() -> None:
    with pytest.raises(WebhookRejected):
        ClickPesaWebhooks("").parse_webhook(signed_body(payment_received(), secret=""), {})


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_rejected(webhooks: ClickPesaWebhooks, body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        webhooks.parse_webhook(body, {})


@pytest.mark.parametrize(
    "payload",
    [
        {"event": "PAYMENT RECEIVED"},
        payment_received(collectedAmount="lots"),
        payment_received(collectedAmount="NaN"),
        payment_received(collectedAmount="0"),
        payment_received(collectedAmount=True),
        payment_received(collectedCurrency="XYZ"),
    ],
)
def test_a_correctly_signed_but_unreadable_payment_is_rejected(
    webhooks: ClickPesaWebhooks, payload: dict[str, Any]
) -> None:
    with pytest.raises(WebhookRejected, match="could not be read"):
        webhooks.parse_webhook(signed_body(payload), {})


def demo_payment_view() -> PaymentView:
    price = Money.of("50000", "TZS")
    return PaymentView.of(Payment.initiate(UUID(int=1), "user-1", "clickpesa", "MCREF0001", price, Decimal("0.00037")))


@pytest.mark.parametrize(("outcome", "expected"), [("pay", Outcome.PAID), ("fail", Outcome.FAILED)])
def test_a_simulated_webhook_verifies_and_reads_back(
    webhooks: ClickPesaWebhooks, outcome: str, expected: Outcome
) -> None:
    view = demo_payment_view()
    body, headers = ClickPesaSimulator(SECRET).simulate(view, outcome)
    event = webhooks.parse_webhook(body, headers)
    assert event.outcome is expected
    assert event.reference == view.reference
    assert event.paid == (Money.of("50000", "TZS") if expected is Outcome.PAID else None)


def test_a_simulated_webhook_carries_the_canonical_checksum() -> None:
    body, _ = ClickPesaSimulator(SECRET).simulate(demo_payment_view(), "pay")
    payload = json.loads(body)
    assert payload["checksumMethod"] == "canonical"
    assert payload["checksum"] == checksum_of(payload)
