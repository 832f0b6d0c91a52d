"""The pure parts of ClickPesaGateway: the checkout body it signs, and reading status records."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from uuid import UUID

import pytest

from adapters.clickpesa.gateway import checkout_body, status_event
from application.gateways import CheckoutRequest, Outcome
from domain.money import Money

pytestmark = pytest.mark.unit

KEY = "clickpesa-checksum-key"


def canonical_checksum(body: dict[str, Any]) -> str:
    unsigned = {name: value for name, value in body.items() if name not in ("checksum", "checksumMethod")}
    text = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(KEY.encode(), text.encode("utf-8"), hashlib.sha256).hexdigest()


def request(**extra: Any) -> CheckoutRequest:
    return CheckoutRequest(UUID(int=7), "MCREF0007", Money.of("1500", "TZS"), "0.55 Mycelium Credits", **extra)


def test_the_body_states_the_order_with_the_price_as_a_string() -> None:
    assert checkout_body(request(), None) == {
        "totalPrice": "1500.00",
        "orderReference": "MCREF0007",
        "orderCurrency": "TZS",
        "description": "0.55 Mycelium Credits",
    }


def test_the_customer_is_named_when_known_and_everything_is_signed() -> None:
    body = checkout_body(request(customer_email="a@example.tz", customer_name="Zuhura Ñandú"), KEY)
    assert body["customerEmail"] == "a@example.tz"
    assert body["customerName"] == "Zuhura Ñandú"
    assert body["checksum"] == canonical_checksum(body)


def record(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"CP{status}",
        "status": status,
        "orderReference": "MCREF0007",
        "collectedAmount": "1500",
        "collectedCurrency": "TZS",
        **fields,
    }


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], None),
        (["PROCESSING"], None),
        (["PENDING"], None),
        (["FAILED"], Outcome.FAILED),
        (["FAILED", "PROCESSING"], None),
        (["FAILED", "SUCCESS"], Outcome.PAID),
        (["SETTLED"], Outcome.PAID),
        (["REVERSED"], None),
    ],
)
def test_the_records_of_an_order_say_what_became_of_it(statuses: list[str], expected: Outcome | None) -> None:
    event = status_event("MCREF0007", [record(status) for status in statuses])
    assert (event.outcome if event else None) is expected


def test_records_for_another_order_are_not_read() -> None:
    assert status_event("MCREF0007", [record("SUCCESS", orderReference="MCOTHER0001")]) is None


def test_a_paid_record_is_keyed_by_the_clickpesa_payment_id() -> None:
    event = status_event("MCREF0007", [record("SUCCESS", id="LPX42", channel="AIRTEL-MONEY")])
    assert event is not None
    assert event.key == "clickpesa:LPX42:paid"
    assert event.paid == Money.of("1500", "TZS")
    assert event.evidence["channel"] == "AIRTEL-MONEY"
    assert len(event.evidence["record_sha256"]) == 64
