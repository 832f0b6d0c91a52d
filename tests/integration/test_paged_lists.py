"""Paged lists over HTTP (API.md "Lists are paged"), on SQLite and on PostgreSQL read through asyncpg: pages
never repeat or skip an item however many writes happen between them."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from nacl.signing import SigningKey

from entrypoints.bootstrap import Services, bootstrap
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.support import SESSION_SECRET, FakeClock, SignedIn, sign_in

pytestmark = pytest.mark.integration

Client = TestClient[Litestar]
ADMIN = SigningKey.generate()
SECOND_ADMIN = SigningKey.generate()
Item = dict[str, Any]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(store_url: str, clock: FakeClock) -> Iterator[Client]:
    admins = frozenset(key.verify_key.encode().hex() for key in (ADMIN, SECOND_ADMIN))
    settings = Settings(
        database_url=store_url,
        session_secret=SESSION_SECRET,
        admin_public_keys=admins,
        bank_confirmations_required=2,
        reconcile_interval_seconds=0,
        checkpoint_interval_seconds=0,
    )
    services: Services = bootstrap(settings, clock=clock)
    with TestClient(app=create_app(services)) as test_client:
        yield test_client


def initiate(client: Client, user: SignedIn, amount: str = "5.00", gateway: str = "stripe") -> Item:
    body = {"amount": amount, "currency": "USD", "gateway": gateway}
    answer = client.post("/api/payments/initiate", json=body, headers=user.auth)
    assert answer.status_code == 201, answer.text
    payment: Item = answer.json()
    return payment


def pay(client: Client, payment: Item) -> None:
    paid = client.post(f"/demo/checkout/{payment['payment_id']}/pay", follow_redirects=False)
    assert paid.status_code == 303, paid.text


def confirm(client: Client, admin: SignedIn, payment: Item) -> None:
    body = {"received_amount": payment["amount"], "received_currency": "USD"}
    answer = client.post(f"/api/admin/payments/{payment['payment_id']}/confirm", json=body, headers=admin.auth)
    assert answer.status_code == 200, answer.text


def every_page(
    client: Client, path: str, auth: dict[str, str], limit: int, between: Callable[[int], None]
) -> list[Item]:
    """Follow next_cursor to the end, calling `between(pages read)` before asking for each next page."""
    items: list[Item] = []
    query: dict[str, Any] = {"limit": limit}
    pages = 0
    while True:
        answer = client.get(path, params=query, headers=auth)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["items"]) <= limit
        items.extend(body["items"])
        pages += 1
        if body["next_cursor"] is None:
            return items
        between(pages)
        query = {**{key: value for key, value in query.items() if key != "cursor"}, "cursor": body["next_cursor"]}


def ids(items: list[Item]) -> list[str]:
    return [item["payment_id"] for item in items]


def test_a_users_pages_never_repeat_or_skip_while_payments_arrive_and_settle(client: Client) -> None:
    user = sign_in(client)
    made = [initiate(client, user) for _ in range(7)]  # one clock reading: ties are broken by payment id
    listed_first = client.get("/api/payments", params={"limit": 200}, headers=user.auth).json()
    assert listed_first["next_cursor"] is None

    def between(pages: int) -> None:
        initiate(client, user)
        pay(client, made[pages])

    paged = every_page(client, "/api/payments", user.auth, 2, between)

    assert ids(paged) == ids(listed_first["items"])
    assert sorted(ids(paged)) == sorted(ids(made)) and len(set(ids(paged))) == 7
    assert len(client.get("/api/payments", headers=user.auth).json()["items"]) == 7 + 3


def test_the_admin_queue_pages_as_it_stood_at_its_first_page_while_admins_act(client: Client, clock: FakeClock) -> None:
    user, admin, second = sign_in(client), sign_in(client, ADMIN), sign_in(client, SECOND_ADMIN)
    cards = [initiate(client, user) for _ in range(3)]
    clock.advance(timedelta(seconds=1))
    transfers = [initiate(client, user, "1000.00", "bank") for _ in range(3)]
    queue_before = client.get("/api/admin/payments", params={"limit": 200}, headers=admin.auth).json()["items"]
    assert [item["awaiting_admin"] for item in queue_before] == [True] * 3 + [False] * 3

    def between(pages: int) -> None:
        # Each transfer on the page just read is confirmed by both admins: now it would sort among the rest.
        for item in queue_before[(pages - 1) * 2 : pages * 2]:
            if item["gateway"] == "bank":
                confirm(client, admin, item)
                confirm(client, second, item)
        initiate(client, user, "1000.00", "bank")  # a new head of the queue

    paged = every_page(client, "/api/admin/payments", admin.auth, 2, between)

    assert ids(paged) == ids(queue_before)
    assert sorted(ids(paged)) == sorted(ids(cards + transfers))
    assert [item["status"] for item in paged[:2]] == ["pending", "pending"]
    queue_now = client.get("/api/admin/payments", headers=admin.auth).json()["items"]
    assert [item["awaiting_admin"] for item in queue_now[:2]] == [True, True]
    assert {item["status"] for item in queue_now if item["payment_id"] in ids(transfers[:2])} == {"confirmed"}


def test_the_admin_queue_filters_by_creation_time(client: Client, clock: FakeClock) -> None:
    user, admin = sign_in(client), sign_in(client, ADMIN)
    early = initiate(client, user)
    clock.advance(timedelta(hours=1))
    middle = initiate(client, user)
    clock.advance(timedelta(hours=1))
    late = initiate(client, user)

    def listed(**filters: str) -> list[str]:
        answer = client.get("/api/admin/payments", params=filters, headers=admin.auth)
        assert answer.status_code == 200, answer.text
        return ids(answer.json()["items"])

    assert listed(created_after=middle["created_at"]) == ids([late, middle])
    assert listed(created_before=middle["created_at"]) == ids([early])
    assert listed(created_after=early["created_at"], created_before=late["created_at"]) == ids([middle, early])
    assert listed(created_after=late["created_at"], gateway="stripe", status="pending") == ids([late])


def test_the_wallet_holds_the_newest_fifty_and_its_cursor_continues_at_the_transactions(client: Client) -> None:
    user = sign_in(client)
    for _ in range(53):
        pay(client, initiate(client, user, "1.00"))

    wallet = client.get("/api/wallet", headers=user.auth).json()
    rest = client.get("/api/wallet/transactions", params={"cursor": wallet["next_cursor"]}, headers=user.auth).json()
    every = every_page(client, "/api/wallet/transactions", user.auth, 20, lambda _: pay(client, initiate(client, user)))

    assert (wallet["balance"], len(wallet["transactions"]), rest["next_cursor"]) == ("53.00", 50, None)
    balances = [entry["balance_after"] for entry in wallet["transactions"] + rest["items"]]
    assert balances == [f"{count}.00" for count in range(53, 0, -1)]
    assert every == wallet["transactions"] + rest["items"]


@pytest.mark.parametrize("path", ["/api/payments", "/api/wallet/transactions", "/api/admin/payments"])
def test_a_limit_outside_1_to_200_is_a_422_and_a_cursor_not_given_out_a_400(client: Client, path: str) -> None:
    auth = sign_in(client, ADMIN).auth
    other_list = "/api/payments" if path != "/api/payments" else "/api/wallet/transactions"
    for _ in range(3):
        pay(client, initiate(client, sign_in(client, ADMIN)))
    foreign = client.get(other_list, params={"limit": 1}, headers=auth).json()["next_cursor"]
    garbled = base64.urlsafe_b64encode(b'{"v":1,"l":"payments","p":"x","k":[]}').decode().rstrip("=")

    assert foreign is not None
    assert client.get(path, params={"limit": 200}, headers=auth).status_code == 200
    for limit in (201, 0, -1):
        answer = client.get(path, params={"limit": limit}, headers=auth)
        assert (answer.status_code, answer.json()["type"]) == (422, "/problems/invalid")
    for cursor in ("not-a-cursor", garbled, foreign, "!!"):
        answer = client.get(path, params={"cursor": cursor}, headers=auth)
        assert answer.status_code == 400, (cursor, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_an_admin_cursor_belongs_to_the_filters_it_was_given_with(client: Client) -> None:
    admin = sign_in(client, ADMIN)
    for _ in range(2):
        initiate(client, admin)
    first = client.get("/api/admin/payments", params={"limit": 1, "gateway": "stripe"}, headers=admin.auth).json()
    same = {"limit": 1, "gateway": "stripe", "cursor": first["next_cursor"]}
    other = {**same, "gateway": "bank"}

    assert client.get("/api/admin/payments", params=same, headers=admin.auth).status_code == 200
    answer = client.get("/api/admin/payments", params=other, headers=admin.auth)
    assert (answer.status_code, answer.json()["type"]) == (400, "/problems/bad-cursor")


def test_pages_stay_whole_while_another_client_keeps_writing(client: Client) -> None:
    user, admin, second = sign_in(client), sign_in(client, ADMIN), sign_in(client, SECOND_ADMIN)
    transfers = [initiate(client, user, "1000.00", "bank") for _ in range(6)]
    cards = [initiate(client, user) for _ in range(6)]
    before = client.get("/api/admin/payments", params={"limit": 200}, headers=admin.auth).json()["items"]
    writing = threading.Event()

    def writer() -> None:
        for index in range(24):  # bounded: new payments at the head, transfers settled, cards paid
            initiate(client, user, *(("1000.00", "bank") if index % 3 == 0 else ()))
            if index < len(transfers):
                confirm(client, admin, transfers[index])
                confirm(client, second, transfers[index])
            elif index - len(transfers) < len(cards):
                pay(client, cards[index - len(transfers)])
            writing.set()

    thread = threading.Thread(target=writer)
    first = client.get("/api/admin/payments", params={"limit": 1}, headers=admin.auth).json()
    thread.start()
    writing.wait(10)
    query = {"limit": 1, "cursor": first["next_cursor"]}
    seen = list(first["items"])
    while query["cursor"] is not None:
        body = client.get("/api/admin/payments", params=query, headers=admin.auth).json()
        seen.extend(body["items"])
        query["cursor"] = body["next_cursor"]
    thread.join(30)

    assert ids(seen) == ids(before)
    assert len(client.get("/api/admin/payments", params={"limit": 200}, headers=admin.auth).json()["items"]) == 12 + 24
