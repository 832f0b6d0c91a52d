"""Spending credits through HTTP (API.md, "Spending credits"), on the embedded SQLite store, every refusal included."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from nacl.signing import SigningKey

from entrypoints.bootstrap import Services, bootstrap
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.spend_support import receipt_verifies, signed_at, spend, spend_body
from tests.integration.support import SESSION_SECRET, FakeClock, SignedIn, event_counts, sign_in

pytestmark = pytest.mark.integration

Client = TestClient[Litestar]
ADMIN_KEY = SigningKey.generate()
ADMIN = ADMIN_KEY.verify_key.encode().hex()
SPEND_FIELDS = {
    "spend_id",
    "order_id",
    "payee",
    "amount",
    "currency",
    "memo",
    "user_id",
    "at",
    "balance_after",
    "receipt",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(sqlite_url: str, clock: FakeClock) -> Services:
    settings = Settings(database_url=sqlite_url, session_secret=SESSION_SECRET, admin_public_keys=frozenset({ADMIN}))
    return bootstrap(settings, clock=clock)


@pytest.fixture
def client(services: Services) -> Iterator[Client]:
    with TestClient(app=create_app(services)) as test_client:
        yield test_client


@pytest.fixture
def user(client: Client) -> SignedIn:
    return sign_in(client)


def fund(client: Client, user: SignedIn, amount: str) -> dict[str, Any]:
    """Credits bought through the demo checkout, as a person buys them."""
    body = {"amount": amount, "currency": "USD", "gateway": "stripe"}
    payment = client.post("/api/payments/initiate", json=body, headers=user.auth).json()
    paid = client.post(f"/demo/checkout/{payment['payment_id']}/pay", follow_redirects=False)
    assert paid.status_code == 303, paid.text
    return dict(payment)


def balance(client: Client, user: SignedIn) -> str:
    answer: str = client.get("/api/wallet", headers=user.auth).json()["balance"]
    return answer


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}", body
    return body


def public_key(client: Client) -> str:
    answer = client.get("/api/ledger/public-key")
    assert answer.status_code == 200, answer.text
    key: str = answer.json()["public_key"]
    return key


def test_a_signed_spend_is_recorded_with_a_receipt_the_ledger_key_verifies(client: Client, user: SignedIn) -> None:
    fund(client, user, "20.00")
    body = spend_body(user, "12.50", "order-1", memo="two mushrooms")

    answer = spend(client, user, body)

    assert answer.status_code == 201, answer.text
    spent = answer.json()
    assert set(spent) == SPEND_FIELDS
    assert (spent["amount"], spent["currency"], spent["balance_after"]) == ("12.50", "MC", "7.50")
    assert (spent["payee"], spent["order_id"], spent["memo"], spent["user_id"]) == (
        "shop.example:seller-7",
        "order-1",
        "two mushrooms",
        user.user_id,
    )
    signed = spent["receipt"]["signed"]
    assert signed == {
        key: spent[key] for key in ("spend_id", "order_id", "payee", "amount", "currency", "user_id", "at")
    }
    assert spent["receipt"]["public_key"] == public_key(client)
    assert receipt_verifies(spent, public_key(client))
    assert balance(client, user) == "7.50"  # read right after: the spend is already in the read model


def test_a_receipt_with_any_field_changed_does_not_verify(client: Client, user: SignedIn) -> None:
    fund(client, user, "20.00")
    spent = spend(client, user, spend_body(user, "5.00", "order-1")).json()

    spent["receipt"]["signed"]["amount"] = "50.00"

    assert not receipt_verifies(spent, public_key(client))


def test_the_spend_is_read_back_the_same_and_listed_in_the_wallet(client: Client, user: SignedIn) -> None:
    fund(client, user, "20.00")
    spent = spend(client, user, spend_body(user, "3.25", "order-9", memo="tea")).json()

    again = client.get(f"/api/wallet/spends/{spent['spend_id']}", headers=user.auth)
    wallet = client.get("/api/wallet", headers=user.auth).json()

    assert again.status_code == 200, again.text
    assert again.json() == spent
    assert wallet["transactions"][0] == {
        "type": "spend",
        "amount": "3.25",
        "spend_id": spent["spend_id"],
        "payee": "shop.example:seller-7",
        "order_id": "order-9",
        "memo": "tea",
        "at": wallet["transactions"][0]["at"],
        "balance_after": "16.75",
    }
    assert wallet["transactions"][1]["type"] == "top_up"
    assert wallet["debt"] == "0.00"


def test_another_users_spend_is_not_found(client: Client, user: SignedIn) -> None:
    fund(client, user, "20.00")
    spent = spend(client, user, spend_body(user, "1.00", "order-1")).json()
    other = sign_in(client)

    problem(client.get(f"/api/wallet/spends/{spent['spend_id']}", headers=other.auth), 404, "not-found")
    problem(client.get("/api/wallet/spends/00000000-0000-0000-0000-000000000000", headers=user.auth), 404, "not-found")


def test_the_same_signed_body_again_answers_the_same_spend_even_once_stale(
    client: Client, user: SignedIn, clock: FakeClock
) -> None:
    fund(client, user, "20.00")
    body = spend_body(user, "4.00", "order-1", at=signed_at(clock.now()))
    first = spend(client, user, body)
    clock.advance(timedelta(minutes=30))

    again = spend(client, user, body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert balance(client, user) == "16.00"


def test_the_order_id_used_again_with_another_body_is_a_conflict(client: Client, user: SignedIn) -> None:
    fund(client, user, "20.00")
    spend(client, user, spend_body(user, "4.00", "order-1"))

    problem(spend(client, user, spend_body(user, "5.00", "order-1")), 409, "order-already-used")
    assert balance(client, user) == "16.00"
    other_payee = spend(client, user, spend_body(user, "5.00", "order-1", payee="another-shop"))
    assert other_payee.status_code == 201, other_payee.text  # the order id is per user and payee


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"amount": "1.01"}, id="amount changed after signing"),
        pytest.param({"payee": "elsewhere"}, id="payee changed after signing"),
        pytest.param({"memo": "other"}, id="memo changed after signing"),
        pytest.param({"signature": "00" * 64}, id="a signature of nothing"),
        pytest.param({"signature": "not hex"}, id="not a signature"),
    ],
)
def test_a_body_that_is_not_what_was_signed_is_a_bad_signature(
    client: Client, user: SignedIn, change: dict[str, str]
) -> None:
    fund(client, user, "20.00")

    problem(spend(client, user, {**spend_body(user, "1.00", "order-1"), **change}), 422, "bad-signature")
    assert balance(client, user) == "20.00"


def test_a_spend_signed_by_another_key_is_a_bad_signature(client: Client, user: SignedIn) -> None:
    fund(client, user, "20.00")
    body = spend_body(user, "1.00", "order-1", signer=SigningKey.generate())

    problem(spend(client, user, body), 422, "bad-signature")
    assert event_counts_of_spends(client) == 0


def event_counts_of_spends(client: Client) -> int:
    services: Services = client.app.state.services
    return event_counts(services.ledger)["CreditsSpent"]


@pytest.mark.parametrize(
    ("shift", "stale"),
    [
        (timedelta(minutes=-5, seconds=-1), True),
        (timedelta(minutes=-4, seconds=-59), False),
        (timedelta(seconds=59), False),
        (timedelta(minutes=1, seconds=1), True),
    ],
)
def test_signed_at_more_than_five_minutes_old_or_a_minute_ahead_is_stale(
    client: Client, user: SignedIn, clock: FakeClock, shift: timedelta, stale: bool
) -> None:
    fund(client, user, "20.00")
    body = spend_body(user, "1.00", "order-1", at=signed_at(clock.now() + shift))

    answer = spend(client, user, body)

    if stale:
        assert "server_time" in problem(answer, 422, "stale-signature")
        assert balance(client, user) == "20.00"
    else:
        assert answer.status_code == 201, answer.text


def test_a_spend_the_balance_does_not_cover_is_refused_with_the_balance(client: Client, user: SignedIn) -> None:
    fund(client, user, "10.00")

    refused = problem(spend(client, user, spend_body(user, "10.01", "order-1")), 422, "insufficient-funds")

    assert (refused["balance"], refused["amount"]) == ("10.00", "10.01")
    assert spend(client, user, spend_body(user, "10.00", "order-2")).status_code == 201
    assert balance(client, user) == "0.00"


def test_a_wallet_never_credited_covers_nothing(client: Client, user: SignedIn) -> None:
    refused = problem(spend(client, user, spend_body(user, "0.01", "order-1")), 422, "insufficient-funds")
    assert refused["balance"] == "0.00"


@pytest.mark.parametrize(
    ("change", "slug"),
    [
        pytest.param({"amount": "0.00"}, "invalid-amount", id="zero"),
        pytest.param({"amount": "-1.00"}, "invalid-amount", id="negative"),
        pytest.param({"amount": "1.001"}, "invalid-amount", id="three decimals"),
        pytest.param({"payee": "has space"}, "invalid", id="payee with a space"),
        pytest.param({"payee": ""}, "invalid", id="empty payee"),
        pytest.param({"payee": "p" * 65}, "invalid", id="payee too long"),
        pytest.param({"order_id": "o/1"}, "invalid", id="order id with a slash"),
        pytest.param({"memo": "m" * 201}, "invalid", id="memo too long"),
        pytest.param({"signed_at": "yesterday"}, "invalid", id="signed_at not a time"),
        pytest.param({"signed_at": "2026-12-01T12:00:00+01:00"}, "invalid", id="signed_at not UTC"),
    ],
)
def test_a_malformed_spend_is_invalid(client: Client, user: SignedIn, change: dict[str, str], slug: str) -> None:
    fund(client, user, "20.00")
    fields = {"amount": "1.00", "order_id": "order-1", "payee": "shop", "memo": "", "at": signed_at()}
    fields.update({"at" if key == "signed_at" else key: value for key, value in change.items()})
    # Signed as it is: refused for what it says, not for its signature.
    body = spend_body(user, fields["amount"], fields["order_id"], fields["payee"], fields["memo"], fields["at"])

    problem(spend(client, user, body), 422, slug)
    assert balance(client, user) == "20.00"


def test_spending_needs_a_session(client: Client, user: SignedIn) -> None:
    answer = client.post("/api/wallet/spends", json=spend_body(user, "1.00", "order-1"))
    problem(answer, 401, "unauthenticated")


def test_concurrent_spends_never_take_the_balance_below_zero(client: Client, user: SignedIn) -> None:
    fund(client, user, "10.00")
    bodies = [spend_body(user, "1.50", f"order-{n}") for n in range(16)]

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda body: spend(client, user, body), bodies))

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] * 6 + [422] * 10, [answer.text for answer in answers if answer.status_code >= 500]
    assert {a.json()["type"] for a in answers if a.status_code == 422} == {"/problems/insufficient-funds"}
    assert balance(client, user) == "1.00"
    assert sorted(Decimal(a.json()["balance_after"]) for a in answers if a.status_code == 201) == [
        Decimal("1.00") + Decimal("1.50") * n for n in range(6)
    ]


def test_transactions_page_through_spends_and_top_ups_without_repeats_or_gaps(client: Client, user: SignedIn) -> None:
    for number in range(3):
        fund(client, user, "5.00")
        assert spend(client, user, spend_body(user, "1.00", f"order-{number}")).status_code == 201
    everything = client.get("/api/wallet/transactions", params={"limit": 50}, headers=user.auth).json()["items"]

    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/wallet/transactions", params=params, headers=user.auth).json()
        pages += page["items"]
        if (cursor := page["next_cursor"]) is None:
            break
        fund(client, user, "5.00")  # written between pages: never in a later page of this listing

    assert pages == everything
    assert [item["type"] for item in pages] == ["spend", "top_up"] * 3
    assert [item["balance_after"] for item in pages] == ["12.00", "13.00", "8.00", "9.00", "4.00", "5.00"]


def test_admins_see_payee_balances_and_users_may_not(client: Client, user: SignedIn) -> None:
    fund(client, user, "20.00")
    for order, amount, payee in (("o1", "2.00", "cafe"), ("o2", "3.50", "cafe"), ("o3", "9.00", "books")):
        assert spend(client, user, spend_body(user, amount, order, payee=payee)).status_code == 201
    admin = sign_in(client, ADMIN_KEY)

    listed = client.get("/api/admin/payees", headers=admin.auth)

    assert listed.status_code == 200, listed.text
    assert listed.json() == {
        "items": [
            {"payee": "books", "balance": "9.00", "spends": 1},
            {"payee": "cafe", "balance": "5.50", "spends": 2},
        ]
    }
    problem(client.get("/api/admin/payees", headers=user.auth), 403, "forbidden")
    problem(client.get("/api/admin/debts", headers=user.auth), 403, "forbidden")
    assert client.get("/api/admin/debts", headers=admin.auth).json() == {"items": []}


def test_without_a_ledger_key_in_live_mode_nothing_is_spent(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, session_secret=SESSION_SECRET, demo_payment=False)
    with TestClient(app=create_app(bootstrap(settings))) as client:
        user = sign_in(client)

        problem(client.get("/api/ledger/public-key"), 503, "signing-key-missing")
        problem(spend(client, user, spend_body(user, "1.00", "order-1")), 503, "signing-key-missing")
