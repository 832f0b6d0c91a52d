"""`GET /api/wallet` through the lane beside the router (ADR 63): answered byte for byte as the handler answers,
and every request the lane cannot answer from memory handed to the app untouched."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from litestar.types import Receive, Scope, Send

from adapters.prometheus_metrics import PrometheusMetrics
from application.errors import StoreUnavailable
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.http.app import create_app
from entrypoints.http.wallet_lane import WALLET_PATH, WalletLane
from entrypoints.settings import Settings
from tests.integration.asgi_calls import answer_of, call
from tests.integration.asgi_calls import scope_of as request_scope
from tests.integration.metrics_support import grew, scrape
from tests.integration.support import SESSION_SECRET, SignedIn, sign_in

pytestmark = pytest.mark.integration

SPA_ORIGIN = "https://spa.example"
Client = TestClient[Litestar]


class Recorder:
    """An ASGI app that writes down the scopes it is handed and answers 204."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def scope_of(
    headers: Sequence[tuple[str, str]] = (), method: str = "GET", path: str = WALLET_PATH, query: bytes = b""
) -> Scope:
    return request_scope(method, path, query, headers)


@pytest.fixture
def services(sqlite_url: str) -> Iterator[Services]:
    settings = Settings(
        database_url=sqlite_url,
        session_secret=SESSION_SECRET,
        reconcile_interval_seconds=0,
        cors_origins=(SPA_ORIGIN,),
    )
    built = bootstrap(settings, metrics=PrometheusMetrics())
    yield built
    built.close()


@pytest.fixture
def client(services: Services) -> Iterator[Client]:
    with TestClient(app=create_app(services)) as client:
        yield client


def bearer(person: SignedIn) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {person.token}")]


def paid_top_up(client: Client, person: SignedIn) -> None:
    body = {"amount": "25.00", "currency": "USD", "gateway": "stripe"}
    payment = client.post("/api/payments/initiate", json=body, headers=person.auth).json()
    client.post(f"/demo/checkout/{payment['payment_id']}/pay", follow_redirects=False)


def test_the_lane_answers_the_wallet_byte_for_byte_as_the_handler_does(
    client: Client, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = sign_in(client)
    paid_top_up(client, person)
    app = create_app(services)

    lane = answer_of(call(app, scope_of(bearer(person))))
    monkeypatch.setattr(WalletLane, "_user", lambda self, scope: None)  # the lane steps aside: the router answers
    handler = answer_of(call(app, scope_of(bearer(person))))

    assert lane[0] == handler[0] == 200
    assert lane[2] == handler[2]
    assert json.loads(lane[2])["balance"] == "25.00"
    assert {**lane[1], b"x-request-id": b""} == {**handler[1], b"x-request-id": b""}


def test_a_wallet_the_lane_answers_never_reaches_the_app_and_is_counted_and_logged_as_the_route(
    client: Client, services: Services
) -> None:
    person = sign_in(client)
    inner = Recorder()

    status, _, content = answer_of(call(WalletLane(inner, services), scope_of(bearer(person))))

    assert (status, json.loads(content)["balance"]) == (200, "0.00")
    assert inner.scopes == []
    before = scope_of(bearer(person))
    call(WalletLane(inner, services), before)
    assert before["path_template"] == WALLET_PATH  # the metrics' route label

    counted = scrape(client)
    assert client.get(WALLET_PATH, headers=person.auth).status_code == 200
    assert grew(counted, scrape(client), "mcpay_http_requests_total", method="GET", route=WALLET_PATH, status="200")


def test_the_wallet_it_answers_follows_a_top_up(client: Client, services: Services) -> None:
    person = sign_in(client)
    first = json.loads(answer_of(call(WalletLane(Recorder(), services), scope_of(bearer(person))))[2])
    paid_top_up(client, person)
    second = json.loads(answer_of(call(WalletLane(Recorder(), services), scope_of(bearer(person))))[2])

    assert (first["balance"], second["balance"]) == ("0.00", "25.00")


@pytest.mark.parametrize(
    ("headers", "method", "path", "query"),
    [
        ([], "GET", WALLET_PATH, b""),
        ([("Authorization", "Basic dXNlcjpwYXNz")], "GET", WALLET_PATH, b""),
        ([("Authorization", "Bearer ")], "GET", WALLET_PATH, b""),
        ([("Authorization", "Bearer not-a-token")], "GET", WALLET_PATH, b""),
        ("signed", "GET", WALLET_PATH, b"limit=5"),
        ("signed", "POST", WALLET_PATH, b""),
        ("signed", "HEAD", WALLET_PATH, b""),
        ("signed", "GET", "/api/wallet/transactions", b""),
        ("signed", "GET", "/api/wallet/", b""),
        ("signed+origin", "GET", WALLET_PATH, b""),
        ("signed twice", "GET", WALLET_PATH, b""),
    ],
    ids=[
        "no-token",
        "another-scheme",
        "empty-token",
        "invalid-token",
        "query",
        "post",
        "head",
        "another-path",
        "trailing-slash",
        "cors",
        "two-tokens",
    ],
)
def test_what_the_lane_cannot_answer_from_memory_reaches_the_app_untouched(
    client: Client, services: Services, headers: Any, method: str, path: str, query: bytes
) -> None:
    person = sign_in(client)
    given: list[tuple[str, str]] = (
        {
            "signed": bearer(person),
            "signed+origin": [*bearer(person), ("Origin", SPA_ORIGIN)],
            "signed twice": bearer(person) * 2,
        }.get(headers, [])
        if isinstance(headers, str)
        else headers
    )
    inner = Recorder()
    scope = scope_of(given, method, path, query)

    assert answer_of(call(WalletLane(inner, services), scope))[0] == 204
    assert inner.scopes == [scope]
    assert "path_template" not in scope


def test_header_names_in_capitals_are_read_as_the_app_reads_them(client: Client, services: Services) -> None:
    person = sign_in(client)
    capitals = scope_of(bearer(person))
    capitals["headers"] = [(b"Authorization", f"Bearer {person.token}".encode())]
    inner = Recorder()

    assert answer_of(call(WalletLane(inner, services), capitals))[0] == 200  # the app's authentication finds it too
    with_origin = scope_of(bearer(person))
    with_origin["headers"] = [*with_origin["headers"], (b"Origin", SPA_ORIGIN.encode())]
    assert answer_of(call(WalletLane(inner, services), with_origin))[0] == 204  # CORS: the app adds its headers
    assert inner.scopes == [with_origin]


def test_a_session_ended_elsewhere_is_refused_by_the_app_not_answered_by_the_lane(client: Client) -> None:
    person = sign_in(client)
    assert client.get(WALLET_PATH, headers=person.auth).status_code == 200

    assert client.delete("/api/auth/session", headers=person.auth).status_code == 204

    refused = client.get(WALLET_PATH, headers=person.auth)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"


def test_a_read_that_fails_in_the_lane_is_answered_by_the_handler(
    client: Client, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = sign_in(client)
    answered = services.reader.wallet_answer
    calls: list[str] = []

    async def fails_once(user_id: str, encode: Any) -> bytes:
        calls.append(user_id)
        if len(calls) == 1:
            raise StoreUnavailable("the read model's database does not answer")
        return await answered(user_id, encode)

    monkeypatch.setattr(services.reader, "wallet_answer", fails_once)

    answer = client.get(WALLET_PATH, headers=person.auth)

    assert answer.status_code == 200  # the handler read again
    assert calls == [person.user_id, person.user_id]
