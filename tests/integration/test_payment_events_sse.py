"""GET /api/payments/{id}/events over real HTTP (uvicorn on a free port): the payment now, then its change the
moment the demo webhook lands, then the end of the stream."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from entrypoints.logs import keep_query_tokens_out_of_access_logs
from entrypoints.settings import Settings
from tests.integration.serve_processes import sign_in
from tests.integration.support import SESSION_SECRET
from tests.processes import free_port

pytestmark = pytest.mark.integration

EVENTS = "/api/payments/{}/events"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def base_url(request: pytest.FixtureRequest) -> Iterator[str]:
    database_url: str = request.getfixturevalue(f"{request.param}_url")
    port = free_port()
    settings = Settings(
        database_url=database_url,
        session_secret=SESSION_SECRET,
        port=port,
        public_base_url=f"http://127.0.0.1:{port}",
        reconcile_interval_seconds=0,
        checkpoint_interval_seconds=0,
    )
    with serving(create_app(bootstrap(settings)), port) as url:
        yield url


@contextmanager
def serving(app: Any, port: int) -> Iterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def server_sent_events(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Each event as its fields; comment lines (keep-alives) skipped."""
    event: dict[str, str] = {}
    for line in lines:
        if not line:
            if event:
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")
    if event:
        yield event


def initiate(client: httpx.Client, auth: dict[str, str], gateway: str = "stripe") -> dict[str, Any]:
    body = {"amount": "25.00", "currency": "USD", "gateway": gateway}
    answer = client.post("/api/payments/initiate", json=body, headers=auth)
    assert answer.status_code == 201, answer.text
    payment: dict[str, Any] = answer.json()
    return payment


def token_of(auth: dict[str, str]) -> str:
    return auth["Authorization"].removeprefix("Bearer ")


def test_the_stream_sends_the_payment_then_its_confirmation_as_the_webhook_lands_then_ends(base_url: str) -> None:
    auth = sign_in(base_url)
    with httpx.Client(base_url=base_url, timeout=10) as client:
        payment = initiate(client, auth)
        url = EVENTS.format(payment["payment_id"])
        with client.stream("GET", url, params={"token": token_of(auth)}) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = server_sent_events(stream.iter_lines())
            first = next(events)
            assert (first["event"], json.loads(first["data"])) == ("payment", payment)

            paid = client.post(f"/demo/checkout/{payment['payment_id']}/pay", follow_redirects=False)
            landed = time.monotonic()
            assert paid.status_code == 303
            second = next(events)
            arrived_after = time.monotonic() - landed

            assert list(events) == []  # the server ended the stream: confirmed is not pending
    confirmed = json.loads(second["data"])
    assert confirmed["status"] == "confirmed"
    assert confirmed == httpx.get(f"{base_url}/api/payments/{payment['payment_id']}", headers=auth).json()
    assert arrived_after < 0.25, f"the change took {arrived_after:.3f} s to arrive: woken, or polled?"


def test_a_settled_payment_is_sent_once_and_the_stream_ends_with_the_header_token_too(base_url: str) -> None:
    auth = sign_in(base_url)
    with httpx.Client(base_url=base_url, timeout=10) as client:
        payment = initiate(client, auth)
        client.post(f"/demo/checkout/{payment['payment_id']}/fail", follow_redirects=False)
        with client.stream("GET", EVENTS.format(payment["payment_id"]), headers=auth) as stream:
            events = list(server_sent_events(stream.iter_lines()))

    assert [json.loads(event["data"])["status"] for event in events] == ["failed"]


def test_another_users_payment_is_not_found_and_the_stream_needs_a_valid_token(base_url: str) -> None:
    alice, bob = sign_in(base_url), sign_in(base_url)
    with httpx.Client(base_url=base_url, timeout=10) as client:
        alices = EVENTS.format(initiate(client, alice)["payment_id"])

        assert client.get(alices, params={"token": token_of(bob)}).status_code == 404
        assert client.get(alices).status_code == 401
        assert client.get(alices, params={"token": "not-a-token"}).status_code == 401
        assert client.get("/api/payments", params={"token": token_of(alice)}).status_code == 401  # this route only


def test_the_query_token_is_documented_in_the_openapi_schema(base_url: str) -> None:
    schema = httpx.get(f"{base_url}/schema/openapi.json").json()
    operation = schema["paths"]["/api/payments/{payment_id}/events"]["get"]

    token = next(parameter for parameter in operation["parameters"] if parameter["name"] == "token")
    assert token["in"] == "query" and not token.get("required", False)
    assert "EventSource" in token["description"] and "EventSource" in operation["description"]


def test_query_tokens_are_kept_out_of_the_access_log() -> None:
    keep_query_tokens_out_of_access_logs()
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/payments/x/events?token=eyJ.secret.sig&x=1", "1.1", 200),
        None,
    )

    assert logging.getLogger("uvicorn.access").filter(record)
    assert "eyJ" not in record.getMessage() and "token=[redacted]&x=1" in record.getMessage()
