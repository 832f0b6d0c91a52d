"""The HTTP contract of API.md, through Litestar's test client, on the embedded SQLite store."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from nacl.signing import SigningKey

from application.views import PaymentView
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.support import SESSION_SECRET, FakeClock, SignedIn, event_counts, last_position, sign_in

pytestmark = pytest.mark.integration

Client = TestClient[Litestar]

PAYMENT_FIELDS = {
    "payment_id",
    "reference",
    "gateway",
    "status",
    "amount",
    "currency",
    "credits",
    "payment_url",
    "created_at",
    "updated_at",
}
BANK_DETAIL_FIELDS = {"bank_name", "account_name", "account_number", "swift_code", "reference"}
DECIMAL_STRING = re.compile(r"\d+\.\d{2}")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(sqlite_url: str, clock: FakeClock) -> Services:
    return bootstrap(Settings(database_url=sqlite_url, session_secret=SESSION_SECRET), clock=clock)


@pytest.fixture
def client(services: Services) -> Iterator[Client]:
    with TestClient(app=create_app(services)) as test_client:  # closes the services on shutdown
        yield test_client


@pytest.fixture
def user(client: Client) -> SignedIn:
    return sign_in(client)


def challenge_for(client: Client, key: SigningKey) -> str:
    response = client.post("/api/auth/challenge", json={"public_key": key.verify_key.encode().hex()})
    assert response.status_code == 200, response.text
    challenge: str = response.json()["challenge"]
    return challenge


def answer(client: Client, key: SigningKey, challenge: str, signer: SigningKey | None = None) -> httpx.Response:
    signature = (signer or key).sign(challenge.encode()).signature.hex()
    body = {"public_key": key.verify_key.encode().hex(), "challenge": challenge, "signature": signature}
    return client.post("/api/auth/session", json=body)


def initiate(
    client: Client, user: SignedIn, amount: Any, currency: str = "USD", gateway: str = "stripe", **headers: str
) -> httpx.Response:
    body = {"amount": amount, "currency": currency, "gateway": gateway}
    return client.post("/api/payments/initiate", json=body, headers={**user.auth, **headers})


def started(
    client: Client, user: SignedIn, amount: str, currency: str = "USD", gateway: str = "stripe"
) -> dict[str, Any]:
    response = initiate(client, user, amount, currency, gateway)
    assert response.status_code == 201, response.text
    payment: dict[str, Any] = response.json()
    return payment


def checkout(client: Client, payment: dict[str, Any], button: str) -> httpx.Response:
    return client.post(f"/demo/checkout/{payment['payment_id']}/{button}", follow_redirects=False)


def payment_status(client: Client, user: SignedIn, payment_id: str) -> str:
    response = client.get(f"/api/payments/{payment_id}", headers=user.auth)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


def wallet(client: Client, user: SignedIn) -> dict[str, Any]:
    response = client.get("/api/wallet", headers=user.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def payments(client: Client, user: SignedIn) -> list[dict[str, Any]]:
    response = client.get("/api/payments", headers=user.auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert problem["status"] == status
    assert all(isinstance(problem[field], str) and problem[field] for field in ("type", "title", "detail"))
    return problem


def view_of(services: Services, payment: dict[str, Any]) -> PaymentView:
    return services.payments.payment(UUID(payment["payment_id"]))


# --- identity -------------------------------------------------------------------------------------


def test_sign_in_with_a_keypair_then_me(client: Client, clock: FakeClock) -> None:
    key = SigningKey.generate()
    public_key = key.verify_key.encode().hex()

    issued = client.post("/api/auth/challenge", json={"public_key": public_key})
    assert issued.status_code == 200
    assert datetime.fromisoformat(issued.json()["expires_at"]) == clock.now() + timedelta(minutes=5)
    session = answer(client, key, issued.json()["challenge"])
    assert session.status_code == 200
    assert session.json()["user_id"] == public_key
    assert datetime.fromisoformat(session.json()["expires_at"]) > clock.now()

    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {session.json()['token']}"})
    assert me.status_code == 200
    assert me.json() == {"user_id": public_key, "public_key": public_key, "roles": ["user"]}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer garbage"}, {"Authorization": "Basic dXNlcjpwdw=="}])
@pytest.mark.parametrize("path", ["/api/auth/me", "/api/payments", "/api/wallet"])
def test_requests_without_a_valid_token_are_401_problems(client: Client, path: str, headers: dict[str, str]) -> None:
    response = client.get(path, headers=headers)

    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_challenge_is_single_use(client: Client) -> None:
    key = SigningKey.generate()
    challenge = challenge_for(client, key)
    assert answer(client, key, challenge).status_code == 200

    assert_problem(answer(client, key, challenge), 401)


def test_a_challenge_expires_after_five_minutes(client: Client, clock: FakeClock) -> None:
    key = SigningKey.generate()
    in_time, too_late = challenge_for(client, key), challenge_for(client, key)

    clock.advance(timedelta(minutes=4, seconds=59))
    assert answer(client, key, in_time).status_code == 200
    clock.advance(timedelta(minutes=1, seconds=1))  # six minutes after issue

    assert_problem(answer(client, key, too_late), 401)


def test_a_challenge_signed_by_another_key_is_refused(client: Client) -> None:
    key = SigningKey.generate()

    assert_problem(answer(client, key, challenge_for(client, key), signer=SigningKey.generate()), 401)


def test_signing_out_kills_that_token_at_once(client: Client, user: SignedIn) -> None:
    other_session = sign_in(client, user.key)

    assert client.delete("/api/auth/session", headers=user.auth).status_code == 204

    assert_problem(client.get("/api/auth/me", headers=user.auth), 401)
    assert_problem(client.get("/api/wallet", headers=user.auth), 401)
    assert client.get("/api/auth/me", headers=other_session.auth).status_code == 200


# --- gateways and top-ups ---------------------------------------------------------------------------


def test_gateways_are_offered_in_demo_mode_with_decimal_minimums(client: Client) -> None:
    response = client.get("/api/payments/gateways")

    assert response.status_code == 200
    offered = {gateway["name"]: gateway for gateway in response.json()}
    assert set(offered) == {"stripe", "clickpesa", "bank"}
    assert all(gateway["demo"] is True for gateway in offered.values())
    for gateway in offered.values():
        assert set(gateway["min_amount"]) == set(gateway["currencies"])
        assert all(DECIMAL_STRING.fullmatch(amount) for amount in gateway["min_amount"].values())
    assert offered["stripe"]["min_amount"]["USD"] == "0.50"
    assert offered["clickpesa"]["currencies"] == ["TZS", "USD"]
    assert offered["bank"]["min_amount"]["USD"] == "1000.00"


def test_gateways_say_how_many_decimal_places_each_currency_has(sqlite_url: str) -> None:
    rates = {"USD": Decimal(1), "JPY": Decimal("0.0067")}
    settings = Settings(database_url=sqlite_url, session_secret=SESSION_SECRET, credit_rates=rates)
    with TestClient(app=create_app(bootstrap(settings))) as client:
        offered = {gateway["name"]: gateway for gateway in client.get("/api/payments/gateways").json()}
        user = sign_in(client)

        assert offered["stripe"]["digits"] == {"USD": 2, "JPY": 0}
        assert offered["clickpesa"]["digits"] == {"USD": 2}
        refused = assert_problem(initiate(client, user, "100.5", "JPY", "stripe"), 422)
        assert (refused["type"], refused["detail"]) == (
            "/problems/invalid-amount",
            "amount: JPY amounts have at most 0 decimal places",
        )
        assert initiate(client, user, "100", "JPY", "stripe").status_code == 201


def test_stripe_top_up_from_initiation_to_credited_wallet(client: Client, user: SignedIn) -> None:
    response = initiate(client, user, "25.00")
    assert response.status_code == 201
    payment = response.json()
    assert set(payment) == PAYMENT_FIELDS
    assert payment["status"] == "pending"
    assert (payment["amount"], payment["currency"], payment["credits"]) == ("25.00", "USD", "25.00")
    assert re.fullmatch(r"[A-Z0-9]+", payment["reference"])
    assert datetime.fromisoformat(payment["created_at"]).utcoffset() == timedelta(0)

    page = client.get(urlsplit(payment["payment_url"]).path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert payment["reference"] in page.text
    assert "25.00 USD" in page.text

    paid = checkout(client, payment, "pay")
    assert paid.status_code == 303
    assert paid.headers["location"] == f"/#/payments/{payment['payment_id']}"

    assert payment_status(client, user, payment["payment_id"]) == "confirmed"
    body = wallet(client, user)
    credited_at = datetime.fromisoformat(body["transactions"][0].pop("at"))
    assert body == {
        "user_id": user.user_id,
        "balance": "25.00",
        "debt": "0.00",
        "currency": "MC",
        "transactions": [
            {"type": "top_up", "amount": "25.00", "payment_id": payment["payment_id"], "balance_after": "25.00"}
        ],
        "next_cursor": None,
    }
    assert credited_at.utcoffset() == timedelta(0)
    assert credited_at >= datetime.fromisoformat(payment["created_at"])


def test_payments_and_transactions_are_listed_newest_first(client: Client, user: SignedIn) -> None:
    first = started(client, user, "10.00")
    second = started(client, user, "5.00", "EUR")
    third = started(client, user, "1.00")
    checkout(client, first, "pay")
    checkout(client, second, "pay")

    assert [p["payment_id"] for p in payments(client, user)] == [
        third["payment_id"],
        second["payment_id"],
        first["payment_id"],
    ]
    assert [p["status"] for p in payments(client, user)] == ["pending", "confirmed", "confirmed"]
    body = wallet(client, user)
    assert body["balance"] == "15.40"
    assert [(t["type"], t["payment_id"], t["amount"], t["balance_after"]) for t in body["transactions"]] == [
        ("top_up", second["payment_id"], "5.40", "15.40"),
        ("top_up", first["payment_id"], "10.00", "10.00"),
    ]


def test_a_failed_checkout_credits_nothing(client: Client, user: SignedIn, services: Services) -> None:
    payment = started(client, user, "10.00")

    failed = checkout(client, payment, "fail")

    assert failed.status_code == 303
    assert failed.headers["location"] == f"/#/payments/{payment['payment_id']}"
    assert payment_status(client, user, payment["payment_id"]) == "failed"
    assert wallet(client, user)["balance"] == "0.00"
    assert wallet(client, user)["transactions"] == []
    assert event_counts(services.ledger)["CreditsToppedUp"] == 0


def test_clickpesa_top_up_through_the_demo_checkout(client: Client, user: SignedIn) -> None:
    payment = started(client, user, "10000", "TZS", "clickpesa")
    assert (payment["amount"], payment["credits"]) == ("10000.00", "3.70")

    assert checkout(client, payment, "pay").status_code == 303

    assert payment_status(client, user, payment["payment_id"]) == "confirmed"
    assert wallet(client, user)["balance"] == "3.70"


def test_bank_transfer_shows_details_with_the_reference_and_stays_pending(client: Client, user: SignedIn) -> None:
    payment = started(client, user, "1000.00", "USD", "bank")

    assert set(payment) == PAYMENT_FIELDS | {"bank_details"}
    assert set(payment["bank_details"]) == BANK_DETAIL_FIELDS
    assert payment["bank_details"]["reference"] == payment["reference"]
    assert payment["status"] == "pending"
    assert_problem(checkout(client, payment, "pay"), 409)  # only an admin settles a bank transfer
    assert payment_status(client, user, payment["payment_id"]) == "pending"
    assert wallet(client, user)["balance"] == "0.00"


def test_a_json_number_amount_is_read_exactly(client: Client, user: SignedIn) -> None:
    response = initiate(client, user, 10.5)

    assert response.status_code == 201
    assert response.json()["amount"] == "10.50"


@pytest.mark.parametrize(
    ("number", "answer"),
    [
        (b"10.0000000000000000001", "amount: USD amounts have at most 2 decimal places"),  # as a float: 10.0
        (b"1e3", "1000.00"),  # an exponent is still an exact JSON number
        (b"2.5e1", "25.00"),
    ],
)
def test_json_numbers_are_never_read_through_a_float(
    client: Client, user: SignedIn, number: bytes, answer: str
) -> None:
    body = b'{"amount": ' + number + b', "currency": "USD", "gateway": "stripe"}'
    headers = {**user.auth, "Content-Type": "application/json"}
    response = client.post("/api/payments/initiate", content=body, headers=headers)

    shown = response.json().get("amount") if response.status_code == 201 else response.json()["detail"]
    assert shown == answer


def test_another_users_payment_is_not_found_like_an_unknown_one(client: Client, user: SignedIn) -> None:
    theirs = started(client, user, "10.00")["payment_id"]
    stranger = sign_in(client)
    unknown = str(uuid.uuid4())

    hidden = assert_problem(client.get(f"/api/payments/{theirs}", headers=stranger.auth), 404)
    missing = assert_problem(client.get(f"/api/payments/{unknown}", headers=stranger.auth), 404)

    assert hidden["detail"].replace(theirs, "<id>") == missing["detail"].replace(unknown, "<id>")
    assert {k: v for k, v in hidden.items() if k != "detail"} == {k: v for k, v in missing.items() if k != "detail"}
    assert theirs not in json.dumps(payments(client, stranger))
    assert payment_status(client, user, theirs) == "pending"


# --- idempotency and refusals ------------------------------------------------------------------------


def test_idempotency_key_replays_the_same_payment_and_refuses_another_body(client: Client, user: SignedIn) -> None:
    first = initiate(client, user, "20.00", **{"Idempotency-Key": "order-42"})
    same = initiate(client, user, "20.00", **{"Idempotency-Key": "order-42"})
    other = initiate(client, user, "21.00", **{"Idempotency-Key": "order-42"})

    assert first.status_code == 201
    assert same.status_code == 200
    assert same.json()["payment_id"] == first.json()["payment_id"]
    assert_problem(other, 409)
    assert [p["payment_id"] for p in payments(client, user)] == [first.json()["payment_id"]]


@pytest.mark.parametrize(
    "body",
    [
        b'{"amount": "10.00", "currency": "USD", ',
        b"not json at all",
        b'["10.00", "USD", "stripe"]',
        b'{"amount": [10], "currency": "USD", "gateway": "stripe"}',
        b'{"amount": true, "currency": "USD", "gateway": "stripe"}',
        b'{"amount": "10.00", "currency": 840, "gateway": "stripe"}',
        b'{"amount": "10.00", "currency": "USD"}',
    ],
)
def test_malformed_bodies_are_400_and_record_nothing(
    client: Client, user: SignedIn, services: Services, body: bytes
) -> None:
    position = last_position(services.ledger)

    response = client.post(
        "/api/payments/initiate", content=body, headers={**user.auth, "Content-Type": "application/json"}
    )

    assert_problem(response, 400)
    assert payments(client, user) == []
    assert last_position(services.ledger) == position


def test_a_body_over_64_kib_is_413(client: Client, user: SignedIn) -> None:
    body = {"amount": "10.00", "currency": "USD", "gateway": "stripe", "email": "x" * (64 * 1024)}

    assert_problem(client.post("/api/payments/initiate", json=body, headers=user.auth), 413)
    assert payments(client, user) == []


@pytest.mark.parametrize(
    ("amount", "currency", "gateway", "detail", "kind"),
    [
        ("0", "USD", "stripe", "greater than zero", "invalid-amount"),
        ("0.00", "USD", "stripe", "greater than zero", "invalid-amount"),
        ("-5.00", "USD", "stripe", "non-negative", "invalid-amount"),
        (-5, "USD", "stripe", "non-negative", "invalid-amount"),
        ("NaN", "USD", "stripe", "amount: 'NaN' is not a decimal number", "invalid-amount"),
        ("Infinity", "USD", "stripe", "amount: 'Infinity' is not a decimal number", "invalid-amount"),
        ("1_000", "USD", "stripe", "amount: '1_000' is not a decimal number: write ASCII digits", "invalid-amount"),
        # Arabic-Indic digits, which Decimal reads as 12
        ("\u0661\u0662", "USD", "stripe", "is not a decimal number", "invalid-amount"),
        ("\uff11\uff12.\uff15\uff10", "USD", "stripe", "is not a decimal number", "invalid-amount"),  # fullwidth digits
        (" 25.00", "USD", "stripe", "is not a decimal number", "invalid-amount"),
        ("25.00\n", "USD", "stripe", "is not a decimal number", "invalid-amount"),
        ("+25", "USD", "stripe", "is not a decimal number", "invalid-amount"),
        ("2.5e1", "USD", "stripe", "is not a decimal number", "invalid-amount"),
        ("10.001", "USD", "stripe", "2 decimal places", "invalid-amount"),
        (10.001, "USD", "stripe", "2 decimal places", "invalid-amount"),
        ("10.00", "XYZ", "stripe", "XYZ", "invalid"),
        ("10.00", "GBP", "stripe", "GBP", "invalid"),
        ("10.00", "USD", "paypal", "paypal", "invalid"),
        ("0.49", "USD", "stripe", "0.50 USD", "invalid"),
        ("1000", "TZS", "clickpesa", "1351.36 TZS", "invalid"),
        ("999.99", "USD", "bank", "1000.00 USD", "invalid"),
    ],
)
def test_well_formed_but_invalid_orders_are_422_and_record_nothing(
    client: Client,
    user: SignedIn,
    services: Services,
    amount: Any,
    currency: str,
    gateway: str,
    detail: str,
    kind: str,
) -> None:
    position = last_position(services.ledger)

    problem = assert_problem(initiate(client, user, amount, currency, gateway), 422)

    assert (problem["type"], detail in problem["detail"]) == (f"/problems/{kind}", True), problem
    assert payments(client, user) == []
    assert last_position(services.ledger) == position


# --- webhooks ---------------------------------------------------------------------------------------


def test_a_webhook_with_a_bad_signature_is_400_and_records_nothing(
    client: Client, user: SignedIn, services: Services
) -> None:
    payment = started(client, user, "10.00")
    body, headers = services.simulators["stripe"].simulate(view_of(services, payment), "pay")
    forged = {**headers, "Stripe-Signature": re.sub(r"v1=\w+", "v1=" + "0" * 64, headers["Stripe-Signature"])}
    position = last_position(services.ledger)

    assert_problem(client.post("/api/webhooks/stripe", content=body, headers=forged), 400)
    assert_problem(client.post("/api/webhooks/stripe", content=body, headers={}), 400)
    tampered = body.replace(b'"amount_total":1000', b'"amount_total":1')
    assert tampered != body
    assert_problem(client.post("/api/webhooks/stripe", content=tampered, headers=headers), 400)

    assert last_position(services.ledger) == position
    assert payment_status(client, user, payment["payment_id"]) == "pending"
    assert wallet(client, user)["balance"] == "0.00"


def test_a_clickpesa_webhook_with_a_bad_checksum_is_400(client: Client, user: SignedIn, services: Services) -> None:
    payment = started(client, user, "10000", "TZS", "clickpesa")
    body, headers = services.simulators["clickpesa"].simulate(view_of(services, payment), "pay")
    forged = json.dumps({**json.loads(body), "checksum": "0" * 64}).encode()
    position = last_position(services.ledger)

    assert_problem(client.post("/api/webhooks/clickpesa", content=forged, headers=headers), 400)

    assert last_position(services.ledger) == position
    assert payment_status(client, user, payment["payment_id"]) == "pending"


def test_a_valid_duplicate_webhook_is_200_and_changes_nothing(
    client: Client, user: SignedIn, services: Services
) -> None:
    payment = started(client, user, "10.00")
    body, headers = services.simulators["stripe"].simulate(view_of(services, payment), "pay")

    first = client.post("/api/webhooks/stripe", content=body, headers=headers)
    assert first.status_code == 200
    assert first.json() == {"received": True, "result": "confirmed"}
    position = last_position(services.ledger)
    again = client.post("/api/webhooks/stripe", content=body, headers=headers)

    assert again.status_code == 200
    assert again.json() == {"received": True, "result": "duplicate"}
    assert last_position(services.ledger) == position
    assert wallet(client, user)["balance"] == "10.00"
    assert len(wallet(client, user)["transactions"]) == 1
    assert event_counts(services.ledger)["CreditsToppedUp"] == 1


def test_a_valid_webhook_for_an_unknown_payment_is_200_and_credits_nothing(
    client: Client, user: SignedIn, services: Services
) -> None:
    known = view_of(services, started(client, user, "10.00"))
    stranger = PaymentView(**{**known.__dict__, "payment_id": uuid.uuid4(), "reference": "MCNOSUCHPAYMENT"})
    body, headers = services.simulators["stripe"].simulate(stranger, "pay")

    response = client.post("/api/webhooks/stripe", content=body, headers=headers)

    assert response.status_code == 200
    assert response.json()["result"] == "unmatched"
    assert payment_status(client, user, str(known.payment_id)) == "pending"
    assert event_counts(services.ledger)["CreditsToppedUp"] == 0


# --- operations -------------------------------------------------------------------------------------


def test_health_readiness_and_openapi(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    assert client.get("/schema").status_code == 200

    schema = client.get("/schema/openapi.json")

    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert {
        "/api/auth/challenge",
        "/api/auth/session",
        "/api/auth/me",
        "/api/payments/gateways",
        "/api/payments/initiate",
        "/api/payments/{payment_id}",
        "/api/payments",
        "/api/wallet",
        "/api/webhooks/stripe",
        "/api/webhooks/clickpesa",
    } <= set(schema.json()["paths"])


def test_amounts_in_responses_are_decimal_strings(client: Client, user: SignedIn) -> None:
    payment = started(client, user, "7")
    checkout(client, payment, "pay")

    body = wallet(client, user)

    assert Decimal(body["balance"]) == Decimal(7)
    for value in (payment["amount"], payment["credits"], body["balance"], body["transactions"][0]["amount"]):
        assert isinstance(value, str)
        assert DECIMAL_STRING.fullmatch(value)
