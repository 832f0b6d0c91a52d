"""Gateway deliveries through the lane beside the router (ADR 59): answered byte for byte as the handlers answer
them, their failures answered by the handlers, and every request the lane does not take handed to the app with
its body as it came."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal

import pytest
from litestar.types import Receive, ReceiveMessage, Scope, Send

from application.errors import StoreUnavailable
from entrypoints.http.app import create_app
from entrypoints.http.webhooks import LANE_ERROR, WebhookLane
from tests.integration.asgi_calls import answer_of, call
from tests.integration.asgi_calls import scope_of as request_scope
from tests.integration.fake_stripe import FakeStripe
from tests.integration.stripe_support import StripeApp, stripe_app, stripe_event, stripe_signature

pytestmark = pytest.mark.integration

PATH = "/api/webhooks/stripe"
SPA_ORIGIN = "https://spa.example"


class Recorder:
    """An ASGI app that reads the whole body it is handed, writes down what it read, and answers 204."""

    def __init__(self) -> None:
        self.received: list[ReceiveMessage] = []
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        while True:
            message = await receive()
            self.received.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def scope_of(
    method: str = "POST", path: str = PATH, query: bytes = b"", headers: Mapping[str, str] | None = None
) -> Scope:
    return request_scope(method, path, query, headers or {})


def body(data: bytes, more: bool = False) -> ReceiveMessage:
    return {"type": "http.request", "body": data, "more_body": more}


def paid_delivery(app: StripeApp) -> tuple[bytes, dict[str, str]]:
    """The signed webhook of a new payment's completed session."""
    _payment, session = app.pending_payment()
    payload = json.dumps(stripe_event("checkout.session.completed", app.fake.complete(session["id"]))).encode()
    return payload, {"Stripe-Signature": stripe_signature(payload), "Content-Type": "application/json"}


def stated(headers: Mapping[str, str], payload: bytes) -> dict[str, str]:
    return {**headers, "Content-Length": str(len(payload))}


@pytest.fixture
def app(fake: FakeStripe, sqlite_url: str) -> Iterator[StripeApp]:
    with stripe_app(fake, sqlite_url, cors_origins=(SPA_ORIGIN,)) as built:
        yield built


def test_the_lane_answers_a_delivery_as_the_handler_does(app: StripeApp) -> None:
    by_lane, by_handler = paid_delivery(app), paid_delivery(app)
    asgi = create_app(app.services)

    lane = answer_of(call(asgi, scope_of(headers=stated(by_lane[1], by_lane[0])), [body(by_lane[0])]))
    # No Content-Length (sent in chunks): the lane hands it to the router and the handler answers.
    handler = answer_of(
        call(asgi, scope_of(headers=by_handler[1]), [body(by_handler[0][:10], True), body(by_handler[0][10:])])
    )

    assert lane[0] == handler[0] == 200
    assert lane[2] == handler[2] == b'{"received":true,"result":"confirmed"}'
    assert {**lane[1], b"x-request-id": b""} == {**handler[1], b"x-request-id": b""}
    assert app.balance() == Decimal("50.00")


def test_a_delivery_the_lane_takes_never_reaches_the_app(app: StripeApp) -> None:
    payload, headers = paid_delivery(app)
    inner = Recorder()

    sent = call(WebhookLane(inner, app.services), scope_of(headers=stated(headers, payload)), [body(payload)])

    assert answer_of(sent)[:1] == (200,)
    assert inner.scopes == []
    assert app.balance() == Decimal("25.00")


@pytest.mark.parametrize(
    ("method", "path", "query", "extra", "messages"),
    [
        ("GET", PATH, b"", {}, [body(b"")]),
        ("POST", "/api/webhooks/elsewhere", b"", {}, [body(b"{}")]),
        ("POST", PATH, b"expand=1", {}, [body(b"{}")]),
        ("POST", PATH, b"", {"Content-Length": ""}, [body(b"{}")]),
        ("POST", PATH, b"", {"Content-Length": "70000"}, [body(b"{}")]),
        ("POST", PATH, b"", {"Origin": SPA_ORIGIN}, [body(b"{}")]),
        # longer than it said, and past the limit: every message read is handed on
        ("POST", PATH, b"", {"Content-Length": "2"}, [body(b"x" * 40_000, True), body(b"x" * 40_000)]),
        # the client went away in the middle of the body
        ("POST", PATH, b"", {"Content-Length": "20"}, [body(b"x" * 10, True), {"type": "http.disconnect"}]),
    ],
    ids=["get", "another-path", "query", "no-length", "over-the-limit", "cors", "longer-than-stated", "gone"],
)
def test_what_the_lane_does_not_take_reaches_the_app_as_it_came(
    app: StripeApp,
    method: str,
    path: str,
    query: bytes,
    extra: dict[str, str],
    messages: list[ReceiveMessage],
) -> None:
    inner = Recorder()
    headers = {"Content-Length": "2", "Stripe-Signature": "t=1,v1=00", **extra}
    if headers["Content-Length"] == "":
        del headers["Content-Length"]

    sent = call(WebhookLane(inner, app.services), scope_of(method, path, query, headers), messages)

    assert answer_of(sent)[0] == 204
    assert len(inner.scopes) == 1
    assert LANE_ERROR not in inner.scopes[0]["state"]  # handed on untouched, not tried and failed
    assert inner.received == messages[: len(inner.received)]
    assert [m.get("body") for m in inner.received] == [m.get("body") for m in messages]


def test_a_body_longer_than_it_said_is_refused_as_too_large(app: StripeApp) -> None:
    headers = {"Content-Length": "2", "Stripe-Signature": "t=1,v1=00", "Content-Type": "application/json"}
    messages = [body(b"x" * 40_000, True), body(b"x" * 40_000)]

    status, _, answer = answer_of(call(create_app(app.services), scope_of(headers=headers), messages))

    assert status == 413
    assert json.loads(answer)["type"] == "/problems/too-large"


def test_a_refusal_met_in_the_lane_is_answered_by_the_handler(app: StripeApp) -> None:
    payload, headers = paid_delivery(app)
    forged = {**headers, "Stripe-Signature": stripe_signature(payload, "whsec_someone_else")}
    asgi = create_app(app.services)

    lane = answer_of(call(asgi, scope_of(headers=stated(forged, payload)), [body(payload)]))
    handler = answer_of(call(asgi, scope_of(headers=forged), [body(payload[:5], True), body(payload[5:])]))

    assert lane[0] == handler[0] == 400
    assert lane[1][b"content-type"] == b"application/problem+json"
    assert lane[2] == handler[2]
    assert json.loads(lane[2])["type"] == "/problems/webhook-rejected"
    assert app.balance() == Decimal("0.00")


def test_a_store_failure_met_in_the_lane_is_answered_by_the_handler(
    app: StripeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload, headers = paid_delivery(app)

    def unavailable(event: object) -> asyncio.Future[str]:
        failed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        failed.set_exception(StoreUnavailable("the event store is unreachable"))
        return failed

    monkeypatch.setattr(app.services.payments, "submitted", unavailable)
    asgi = create_app(app.services)

    lane = answer_of(call(asgi, scope_of(headers=stated(headers, payload)), [body(payload)]))
    handler = answer_of(call(asgi, scope_of(headers=headers), [body(payload[:5], True), body(payload[5:])]))

    assert lane[0] == handler[0] == 503
    assert lane[2] == handler[2]
    assert json.loads(lane[2])["type"] == "/problems/store-unavailable"
