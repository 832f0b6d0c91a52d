"""What the OpenAPI document promises, through the app: requests it rules out are refused, the bodies it
describes are the ones taken, and every operation is named and summarised."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from nacl.signing import SigningKey

from entrypoints.bootstrap import Services, bootstrap
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from entrypoints.webhook_sign import signed_webhook
from tests.integration.support import SESSION_SECRET, SignedIn, last_position, sign_in

pytestmark = pytest.mark.integration

Client = TestClient[Litestar]
ORDER = {"currency": "USD", "gateway": "stripe"}


@pytest.fixture
def services(sqlite_url: str) -> Services:
    return bootstrap(Settings(database_url=sqlite_url, session_secret=SESSION_SECRET, reconcile_interval_seconds=0))


@pytest.fixture
def client(services: Services) -> Iterator[Client]:
    with TestClient(app=create_app(services)) as test_client:
        yield test_client


@pytest.fixture
def user(client: Client) -> SignedIn:
    return sign_in(client)


def schema(client: Client) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/schema/openapi.json").json()
    return document


def operations(client: Client) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema(client)["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield method.upper(), path, operation


def problem_type(answer: Any) -> str:
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    kind: str = answer.json()["type"]
    return kind


def test_every_operation_has_its_own_readable_id_a_one_line_summary_and_a_documented_400(client: Client) -> None:
    listed = list(operations(client))
    ids = [operation["operationId"] for _, _, operation in listed]

    assert len(listed) >= 24 and len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]*)*", operation_id) for operation_id in ids), ids
    assert {"listPayments", "initiatePayment", "listAdminPayments", "listWalletTransactions"} <= set(ids)
    for method, path, operation in listed:
        assert operation["summary"].endswith(".") and "\n" not in operation["summary"], (method, path)
        assert "400" in operation["responses"], (method, path)


def test_undeclared_query_parameters_are_refused(client: Client, user: SignedIn) -> None:
    for path in ("/api/payments?stauts=pending", "/api/wallet?x=1", "/api/payments?=1", "/healthz?verbose"):
        answer = client.get(path, headers=user.auth)
        assert answer.status_code == 400, (path, answer.text)
        assert problem_type(answer) == "/problems/bad-request"
    assert client.get("/api/payments?limit=5", headers=user.auth).status_code == 200


@pytest.mark.parametrize("amount", [" 25", "+25", "025", "2.5e1", "25.", ".5", "2_5", "\u0662\u0665"])
def test_amount_texts_other_than_plain_decimals_are_422_and_record_nothing(
    client: Client, user: SignedIn, services: Services, amount: str
) -> None:
    position = last_position(services.ledger)
    answer = client.post("/api/payments/initiate", json={**ORDER, "amount": amount}, headers=user.auth)

    assert (answer.status_code, problem_type(answer)) == (422, "/problems/invalid-amount")
    assert "is not a decimal number" in answer.json()["detail"]
    assert last_position(services.ledger) == position


@pytest.mark.parametrize(("amount", "recorded"), [("25", "25.00"), ("25.5", "25.50"), (25.5, "25.50"), (7, "7.00")])
def test_plain_decimal_strings_and_json_numbers_are_taken(
    client: Client, user: SignedIn, amount: Any, recorded: str
) -> None:
    answer = client.post("/api/payments/initiate", json={**ORDER, "amount": amount}, headers=user.auth)

    assert answer.status_code == 201, answer.text
    assert answer.json()["amount"] == recorded


def test_the_initiate_body_lists_each_offered_gateway_and_currency_with_its_minimum(client: Client) -> None:
    branches = schema(client)["components"]["schemas"]["InitiatePayment"]["oneOf"]
    by_offer = {(b["properties"]["gateway"]["const"], b["properties"]["currency"]["const"]): b for b in branches}
    minimums = {
        (offer["name"], currency): minimum
        for offer in client.get("/api/payments/gateways").json()
        for currency, minimum in offer["min_amount"].items()
    }

    assert set(by_offer) == set(minimums)
    for offer, minimum in minimums.items():
        text, number = by_offer[offer]["properties"]["amount"]["oneOf"]
        pattern = re.compile(text["pattern"])
        below = f"{float(minimum) - 0.01:.2f}"
        assert pattern.fullmatch(minimum) and not pattern.fullmatch(below), (offer, minimum)
        assert number["minimum"] == float(minimum)


def test_statuses_gateways_and_webhook_results_are_enumerated(client: Client) -> None:
    components = schema(client)["components"]["schemas"]
    payment = components["Payment"]["properties"]

    assert payment["status"] == {"$ref": "#/components/schemas/PaymentStatus"}
    assert set(components["PaymentStatus"]["enum"]) == {
        "pending",
        "confirmed",
        "failed",
        "expired",
        "rejected",
        "needs_review",
        "refunded",
        "disputed",
    }
    assert set(payment["gateway"]["enum"]) == {"stripe", "clickpesa", "bank"}
    assert {"confirmed", "duplicate", "ignored", "unmatched"} <= set(
        components["WebhookReceipt"]["properties"]["result"]["enum"]
    )
    assert components["ChallengeRequest"]["properties"]["public_key"]["pattern"] == "^[0-9a-f]{64}$"


def test_a_signed_webhook_that_is_not_the_gateways_envelope_is_400(client: Client, services: Services) -> None:
    not_an_event = json.dumps({"id": 7, "type": "checkout.session.completed", "data": {"object": {}}}).encode()
    signature = signed_webhook("stripe", not_an_event, services.settings)
    answer = client.post("/api/webhooks/stripe", content=not_an_event, headers={"Stripe-Signature": signature})
    assert (answer.status_code, problem_type(answer)) == (400, "/problems/webhook-rejected")

    other_method = json.dumps({"data": {}, "checksumMethod": "plain"}).encode()
    signed = signed_webhook("clickpesa", other_method, services.settings).encode()
    answer = client.post("/api/webhooks/clickpesa", content=signed)
    assert (answer.status_code, problem_type(answer)) == (400, "/problems/webhook-rejected")

    irrelevant = json.dumps({"id": "evt_1", "type": "customer.created", "data": {"object": {}}}).encode()
    signature = signed_webhook("stripe", irrelevant, services.settings)
    answer = client.post("/api/webhooks/stripe", content=irrelevant, headers={"Stripe-Signature": signature})
    assert answer.json() == {"received": True, "result": "ignored"}


def test_the_admin_queue_refuses_an_unknown_gateway_and_a_time_without_offset(sqlite_url: str) -> None:
    admin = SigningKey.generate()
    settings = Settings(
        database_url=sqlite_url,
        session_secret=SESSION_SECRET,
        admin_public_keys=frozenset({admin.verify_key.encode().hex()}),
        reconcile_interval_seconds=0,
    )
    with TestClient(app=create_app(bootstrap(settings))) as client:
        auth = sign_in(client, admin).auth
        for query, detail in [
            ("gateway=paypal", "gateway must be one of"),
            ("created_after=2026-03-01T12:00:00", "offset"),
        ]:
            answer = client.get(f"/api/admin/payments?{query}", headers=auth)
            assert (answer.status_code, problem_type(answer)) == (422, "/problems/invalid"), answer.text
            assert detail in answer.json()["detail"]
        assert client.get("/api/admin/payments?created_after=2026-03-01T12:00:00Z", headers=auth).status_code == 200


def test_each_lists_answer_links_to_its_next_page(client: Client) -> None:
    paths = schema(client)["paths"]
    links = {
        path: paths[path]["get"]["responses"]["200"]["links"]["nextPage"]
        for path in ("/api/payments", "/api/admin/payments", "/api/wallet/transactions", "/api/wallet")
    }

    assert {path: link["operationId"] for path, link in links.items()} == {
        "/api/payments": "listPayments",
        "/api/admin/payments": "listAdminPayments",
        "/api/wallet/transactions": "listWalletTransactions",
        "/api/wallet": "listWalletTransactions",
    }
    assert all(link["parameters"]["cursor"] == "$response.body#/next_cursor" for link in links.values())
    assert links["/api/admin/payments"]["parameters"]["status"] == "$request.query.status"
