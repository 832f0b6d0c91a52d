"""Hostile bodies at every route that reads one: each is a clean problem+json 4xx that records nothing.

Oversized bodies, JSON nested 10,000 deep, numbers past any range, lone surrogates, NUL and
bidirectional marks in fields, bytes that are not UTF-8, and bodies declared as something else than JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from nacl.signing import SigningKey

from entrypoints.bootstrap import Services, bootstrap, webhook_secret
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.stripe_support import stripe_signature
from tests.integration.support import SESSION_SECRET, last_position

pytestmark = pytest.mark.integration

ADMIN = SigningKey.generate()
PAYMENT_ID = "00000000-0000-4000-8000-000000000001"
NESTED = b"[" * 10_000 + b"]" * 10_000
TOO_LARGE = b'{"amount": "10.00", "currency": "USD", "gateway": "stripe", "email": "' + b"x" * 65_536 + b'"}'
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    """One app for the module: every test checks that it recorded nothing, by the log's position."""
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'mcpay.sqlite3'}"
    admin = frozenset({ADMIN.verify_key.encode().hex()})
    return bootstrap(Settings(database_url=url, session_secret=SESSION_SECRET, admin_public_keys=admin))


@pytest.fixture(scope="module")
def client(services: Services) -> Iterator[TestClient[Litestar]]:
    with TestClient(app=create_app(services)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def auth(client: TestClient[Litestar]) -> dict[str, str]:
    public_key = ADMIN.verify_key.encode().hex()
    challenge = client.post("/api/auth/challenge", json={"public_key": public_key}).json()["challenge"]
    signature = ADMIN.sign(challenge.encode()).signature.hex()
    body = {"public_key": public_key, "challenge": challenge, "signature": signature}
    return {"Authorization": f"Bearer {client.post('/api/auth/session', json=body).json()['token']}"}


def assert_clean_refusal(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    problem: dict[str, Any] = response.json()
    assert problem["status"] == response.status_code
    assert all(isinstance(problem[field], str) and problem[field] for field in ("type", "title", "detail"))
    return problem


def order(amount: str = '"10.00"', currency: str = '"USD"', gateway: str = '"stripe"', extra: str = "") -> bytes:
    return f'{{"amount": {amount}, "currency": {currency}, "gateway": {gateway}{extra}}}'.encode()


HOSTILE_ORDERS = {
    "nested 10,000 deep": NESTED,
    "nested 10,000 deep in a field": b'{"amount": ' + NESTED + b', "currency": "USD", "gateway": "stripe"}',
    "a number past any float": order(amount="1e400"),
    "a number of 5,000 digits": order(amount="9" * 5000),
    "a fraction of 5,000 digits": order(amount="0." + "1" * 5000),
    "a string of 5,000 digits": order(amount='"' + "9" * 5000 + '"'),
    "1e400 as a string": order(amount='"1e400"'),
    "a tiny exponent": order(amount="1e-400"),
    "a lone high surrogate in the currency": order(currency='"\\ud800"'),
    "a lone low surrogate in the gateway": order(gateway='"\\udfff"'),
    "a lone surrogate in the email": order(extra=', "email": "\\ud800@example.test"'),
    "a lone surrogate in the amount": order(amount='"\\ud800"'),
    "NUL in the gateway": order(gateway='"str\\u0000ipe"'),
    "NUL in the currency": order(currency='"US\\u0000D"'),
    "a right-to-left override in the currency": order(currency='"\u202eDSU"'),
    "a right-to-left mark in the gateway": order(gateway='"\u200fstripe"'),
    "bytes that are not UTF-8": b'{"amount": "10.00", "currency": "\xff\xfe", "gateway": "stripe"}',
    "not JSON": b"\x00\x01\x02",
}


@pytest.mark.parametrize("body", HOSTILE_ORDERS.values(), ids=HOSTILE_ORDERS.keys())
def test_a_hostile_order_is_a_clean_4xx_and_records_nothing(
    client: TestClient[Litestar], services: Services, auth: dict[str, str], body: bytes
) -> None:
    position = last_position(services.ledger)

    response = client.post("/api/payments/initiate", content=body, headers={**auth, **JSON})

    assert_clean_refusal(response, 400, 422)
    assert last_position(services.ledger) == position


def test_a_huge_number_is_read_exactly_and_refused_as_too_large_and_exponent_text_as_invalid(
    client: TestClient[Litestar], auth: dict[str, str]
) -> None:
    headers = {**auth, **JSON}
    number = assert_clean_refusal(
        client.post("/api/payments/initiate", content=order(amount="1e400"), headers=headers), 422
    )
    assert "below" in number["detail"]
    problem = assert_clean_refusal(
        client.post("/api/payments/initiate", content=order(amount='"1' + "0" * 400 + '"'), headers=headers), 422
    )
    assert "below" in problem["detail"]
    problem = assert_clean_refusal(
        client.post("/api/payments/initiate", content=order(amount='"1e400"'), headers=headers), 422
    )
    assert "decimal" in problem["detail"]


JSON_ROUTES = [
    "/api/auth/challenge",
    "/api/auth/session",
    "/api/payments/initiate",
    f"/api/admin/payments/{PAYMENT_ID}/confirm",
    f"/api/admin/payments/{PAYMENT_ID}/reject",
]
WRONG_CONTENT_TYPES = {
    "text/plain": ("text/plain", order()),
    "form-encoded": ("application/x-www-form-urlencoded", b"amount=10.00&currency=USD&gateway=stripe"),
    "multipart": (
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--',
    ),
    "none": (None, order()),
}


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize("content_type", WRONG_CONTENT_TYPES.values(), ids=WRONG_CONTENT_TYPES.keys())
def test_a_body_that_is_not_declared_json_is_415_on_every_json_route(
    client: TestClient[Litestar],
    services: Services,
    auth: dict[str, str],
    path: str,
    content_type: tuple[str | None, bytes],
) -> None:
    media_type, body = content_type
    headers = {**auth, **({"Content-Type": media_type} if media_type else {})}
    position = last_position(services.ledger)

    problem = assert_clean_refusal(client.post(path, content=body, headers=headers), 415)

    assert "application/json" in problem["detail"]
    assert last_position(services.ledger) == position


def test_json_declared_with_a_charset_or_as_a_json_subtype_is_read(
    client: TestClient[Litestar], auth: dict[str, str]
) -> None:
    for media_type in ("application/json; charset=utf-8", "application/vnd.mcpay+json"):
        answer = client.post("/api/payments/initiate", content=order(), headers={**auth, "Content-Type": media_type})
        assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize(
    "body", [NESTED, b"\xff\xfe{}", b'{"public_key": "\\ud800", "reason": "\\udc00"}', b"{" * 5000], ids=str
)
def test_broken_json_is_400_on_every_json_route(
    client: TestClient[Litestar], auth: dict[str, str], path: str, body: bytes
) -> None:
    assert_clean_refusal(client.post(path, content=body, headers={**auth, **JSON}), 400)


@pytest.mark.parametrize("path", [*JSON_ROUTES, "/api/webhooks/stripe", "/api/webhooks/clickpesa"])
def test_a_body_over_64_kib_is_413_on_every_route_that_reads_one(
    client: TestClient[Litestar], auth: dict[str, str], path: str
) -> None:
    problem = assert_clean_refusal(client.post(path, content=TOO_LARGE, headers={**auth, **JSON}), 413)
    assert "64 KiB" in problem["detail"]


def test_admin_amounts_past_any_range_are_refused(client: TestClient[Litestar], auth: dict[str, str]) -> None:
    path = f"/api/admin/payments/{PAYMENT_ID}/confirm"
    for amount, status in (("1e400", 422), ("9" * 5000, 400), ('"1_000"', 422), ("true", 400), ("[1]", 400)):
        body = f'{{"received_amount": {amount}, "received_currency": "USD", "note": "x"}}'.encode()
        problem = assert_clean_refusal(client.post(path, content=body, headers={**auth, **JSON}), status)
        if amount != "9" * 5000:  # that one is past what the JSON decoder reads at all
            assert "received_amount" in problem["detail"] + str(problem.get("errors")), problem


HOSTILE_WEBHOOK_BODIES = {
    "nested 10,000 deep": NESTED,
    "an object nested 900 deep": b'{"checksum": "00", "data": ' + b"[" * 900 + b"]" * 900 + b"}",
    "a lone surrogate": b'{"checksum": "00", "event": "PAYMENT RECEIVED", "data": {"orderReference": "\\ud800"}}',
    "a lone surrogate as the checksum": b'{"checksum": "\\ud800", "data": {}}',
    "bytes that are not UTF-8": b'{"checksum": "\xff"}',
}


@pytest.mark.parametrize("body", HOSTILE_WEBHOOK_BODIES.values(), ids=HOSTILE_WEBHOOK_BODIES.keys())
def test_hostile_clickpesa_webhooks_are_400_and_record_nothing(
    client: TestClient[Litestar], services: Services, body: bytes
) -> None:
    position = last_position(services.ledger)

    assert_clean_refusal(client.post("/api/webhooks/clickpesa", content=body, headers=JSON), 400)

    assert last_position(services.ledger) == position


@pytest.mark.parametrize("body", HOSTILE_WEBHOOK_BODIES.values(), ids=HOSTILE_WEBHOOK_BODIES.keys())
def test_hostile_stripe_webhooks_are_400_even_when_correctly_signed(
    client: TestClient[Litestar], services: Services, body: bytes
) -> None:
    """The signature is checked first; a body signed with the real secret is still read defensively."""
    position = last_position(services.ledger)
    signed = {**JSON, "Stripe-Signature": stripe_signature(body, webhook_secret(services.settings, "stripe"))}

    assert_clean_refusal(client.post("/api/webhooks/stripe", content=body, headers=signed), 400)
    assert_clean_refusal(client.post("/api/webhooks/stripe", content=body, headers=JSON), 400)

    assert last_position(services.ledger) == position
