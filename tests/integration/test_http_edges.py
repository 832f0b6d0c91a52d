"""The edges of HTTP a browser, a load balancer and a probe reach: OPTIONS, HEAD, CORS, /readyz, 5xx logging."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from application.payments import TopUpOrder
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.http.app import create_app
from entrypoints.logs import configure_logging, reset_logging
from entrypoints.settings import Settings
from tests.integration.support import SESSION_SECRET, sign_in

pytestmark = pytest.mark.integration

Client = TestClient[Litestar]
SPA_ORIGIN = "https://spa.example.test"
GUARDED = ["/api/admin/payments", "/api/audit/export", "/api/wallet", "/api/payments", "/api/auth/me"]


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return Settings(
        database_url=sqlite_url,
        session_secret=SESSION_SECRET,
        reconcile_interval_seconds=0,
        checkpoint_interval_seconds=0,
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    services = bootstrap(settings)
    yield services
    services.close()


@pytest.fixture
def client(services: Services) -> Iterator[Client]:
    with TestClient(app=create_app(services)) as test_client:
        yield test_client


@pytest.mark.parametrize("path", GUARDED)
def test_options_on_a_guarded_route_names_its_methods_and_is_never_a_server_error(client: Client, path: str) -> None:
    answer = client.options(path)

    assert answer.status_code == 204
    assert "GET" in answer.headers["allow"]


def test_head_answers_as_get_without_the_body(client: Client) -> None:
    auth = sign_in(client).auth
    got = client.get("/api/wallet", headers=auth)
    head = client.head("/api/wallet", headers=auth)

    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))


def test_head_is_guarded_like_get(client: Client) -> None:
    user = sign_in(client).auth

    assert client.head("/api/wallet").status_code == 401
    assert client.head("/api/admin/payments", headers=user).status_code == 403


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/", "/api/payments/gateways", "/schema/openapi.json"])
def test_head_works_on_public_pages_too(client: Client, path: str) -> None:
    answer = client.head(path)

    assert answer.status_code == 200
    assert answer.content == b""


def test_head_on_an_event_stream_answers_its_headers_and_ends(client: Client) -> None:
    auth = sign_in(client).auth
    body = {"amount": "25.00", "currency": "USD", "gateway": "stripe"}
    payment = client.post("/api/payments/initiate", json=body, headers=auth).json()

    answer = client.head(f"/api/payments/{payment['payment_id']}/events", headers=auth, timeout=10)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.content == b""


def test_no_cors_headers_unless_origins_are_configured(client: Client) -> None:
    answer = client.get("/api/payments/gateways", headers={"Origin": SPA_ORIGIN})

    assert "access-control-allow-origin" not in answer.headers


def test_cors_origins_let_an_spa_elsewhere_call_the_api(settings: Settings) -> None:
    services = bootstrap(replace(settings, cors_origins=(SPA_ORIGIN,)))
    with TestClient(app=create_app(services)) as client:
        preflight = client.options(
            "/api/wallet",
            headers={
                "Origin": SPA_ORIGIN,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        auth = sign_in(client).auth
        wallet = client.get("/api/wallet", headers={**auth, "Origin": SPA_ORIGIN})
        stranger = client.get("/api/payments/gateways", headers={"Origin": "https://elsewhere.example.test"})
    services.close()

    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SPA_ORIGIN
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert wallet.status_code == 200
    assert wallet.headers["access-control-allow-origin"] == SPA_ORIGIN
    assert "x-request-id" in wallet.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in stranger.headers


# --- readiness ------------------------------------------------------------------------------------------------


def test_readyz_answers_503_while_the_read_model_lags_beyond_the_threshold(settings: Settings) -> None:
    services = bootstrap(replace(settings, ready_max_lag_events=0, demo_payment=True))
    client = TestClient(app=create_app(services))  # no lifespan: nothing projects in the background
    services.payments.initiate("a" * 64, TopUpOrder("25.00", "USD", "stripe"))  # events not yet projected

    lagging = client.get("/readyz")
    services.read_side.projector.run_once()
    caught_up = client.get("/readyz")
    services.close()

    assert lagging.status_code == 503
    assert "events behind the log (READY_MAX_LAG_EVENTS=0)" in lagging.json()["detail"]
    assert caught_up.status_code == 200


def test_readyz_answers_503_when_the_read_model_cannot_be_read(client: Client, sqlite_url: str) -> None:
    assert client.get("/readyz").status_code == 200
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as connection:
        connection.execute("DROP TABLE read_tracking")

    answer = client.get("/readyz")

    assert answer.status_code == 503
    assert answer.json()["detail"] == "the read model does not answer"


# --- 5xx logging ----------------------------------------------------------------------------------------------


@pytest.fixture
def log_lines(settings: Settings) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(replace(settings, log_format="json"), stream=stream)
    yield stream
    reset_logging()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def test_every_server_error_is_logged_at_error_level_with_its_request_id(
    client: Client, sqlite_url: str, log_lines: io.StringIO
) -> None:
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as connection:
        connection.execute("DROP TABLE read_tracking")

    answer = client.get("/readyz", headers={"X-Request-ID": "probe-5xx-1"})

    assert answer.status_code == 503
    errors = [line for line in lines(log_lines) if line["level"] == "error"]
    assert any(line.get("request_id") == "probe-5xx-1" and line.get("status") == 503 for line in errors), errors
