"""Operations: /metrics by route template and business outcome, request ids, structured log lines."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from adapters.prometheus_metrics import PrometheusMetrics
from application.gateways import Checkout, CheckoutRequest, GatewayOffer
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.http.app import create_app
from entrypoints.logs import configure_logging, reset_logging
from entrypoints.settings import Settings
from tests.integration.metrics_support import grew, scrape, value
from tests.integration.support import SESSION_SECRET, sign_in
from tests.unit.fakes import FakeGateway

pytestmark = pytest.mark.integration

Client = TestClient[Litestar]
Auth = dict[str, str]


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return Settings(
        database_url=sqlite_url,
        session_secret=SESSION_SECRET,
        reconcile_interval_seconds=0,
        reconcile_min_age_seconds=0,
    )


@pytest.fixture
def services(settings: Settings) -> Services:
    return bootstrap(settings, metrics=PrometheusMetrics())


@pytest.fixture
def client(services: Services) -> Iterator[Client]:
    with TestClient(app=create_app(services)) as test_client:
        yield test_client


# --- metrics -------------------------------------------------------------------------------------------------


def test_requests_are_counted_by_route_template_and_the_status_actually_sent(client: Client) -> None:
    auth = sign_in(client).auth
    before = scrape(client)
    ids = [str(uuid.uuid4()) for _ in range(3)]

    for payment_id in ids:
        assert client.get(f"/api/payments/{payment_id}", headers=auth).status_code == 404
    assert client.get(f"/api/payments/{ids[0]}").status_code == 401  # refused by the auth middleware
    assert client.post("/api/payments/gateways").status_code == 405  # refused by the router
    after = scrape(client)

    route = "/api/payments/{payment_id}"
    assert grew(before, after, "mcpay_http_requests_total", method="GET", route=route, status="404") == 3
    assert grew(before, after, "mcpay_http_requests_total", method="GET", route=route, status="401") == 1
    assert grew(before, after, "mcpay_http_requests_total", method="POST", route="unmatched", status="405") == 1
    assert grew(before, after, "mcpay_http_request_duration_seconds_count", method="GET", route=route) == 4
    text = client.get("/metrics").text
    assert not any(payment_id in text for payment_id in ids)
    assert 'route="/metrics"' not in text


def test_an_unknown_http_method_does_not_make_a_label_of_its_own(client: Client) -> None:
    client.request("BREW", "/api/payments/gateways")

    assert "BREW" not in client.get("/metrics").text


def test_webhooks_confirmations_and_credits_are_counted_without_user_data(client: Client, services: Services) -> None:
    auth = sign_in(client).auth
    before = scrape(client)
    stripe = client.post(
        "/api/payments/initiate", json={"amount": "25.00", "currency": "USD", "gateway": "stripe"}, headers=auth
    )
    clickpesa = client.post(
        "/api/payments/initiate", json={"amount": "10000", "currency": "TZS", "gateway": "clickpesa"}, headers=auth
    )
    for payment in (stripe.json(), clickpesa.json()):
        assert client.post(f"/demo/checkout/{payment['payment_id']}/pay", follow_redirects=False).status_code == 303
    assert (
        client.post("/api/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"}).status_code == 400
    )
    after = scrape(client)

    for gateway in ("stripe", "clickpesa"):
        assert grew(before, after, "mcpay_webhook_verifications_total", gateway=gateway, outcome="verified") == 1
        assert grew(before, after, "mcpay_payments_confirmed_total", gateway=gateway) == 1
        assert grew(before, after, "mcpay_credits_topped_up_total", gateway=gateway) == 1
    assert grew(before, after, "mcpay_webhook_verifications_total", gateway="stripe", outcome="rejected") == 1
    assert Decimal(str(grew(before, after, "mcpay_credits_topped_up_mc_total", gateway="stripe"))) == Decimal("25")
    assert grew(before, after, "mcpay_credits_topped_up_mc_total", gateway="clickpesa") == pytest.approx(3.70)
    text = client.get("/metrics").text
    user_id = client.get("/api/auth/me", headers=auth).json()["user_id"]
    for secret_or_personal in (user_id, stripe.json()["payment_id"], stripe.json()["reference"], SESSION_SECRET):
        assert secret_or_personal not in text


def test_reconciliation_runs_are_counted_with_their_outcomes(client: Client, services: Services) -> None:
    before = scrape(client)

    services.reconciler.run_once()
    after = scrape(client)

    assert grew(before, after, "mcpay_reconciliation_runs_total", result="ok") == 1
    assert value(after, "mcpay_reconciliation_last_run_timestamp_seconds") > 0


def test_the_projection_lag_gauge_is_exposed(client: Client, services: Services) -> None:
    services.metrics.projection_lag("payments", 0)

    assert value(scrape(client), "mcpay_projection_lag_events", projection="payments") == 0
    assert "mcpay_projection_lag_events" in client.get("/metrics").text


# --- request ids -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/api/wallet", "/nowhere/at/all", "/api/payments/initiate"])
def test_every_answer_carries_a_request_id_and_each_request_gets_its_own(client: Client, path: str) -> None:
    first, second = client.get(path), client.get(path)

    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_a_well_formed_incoming_request_id_is_kept(client: Client) -> None:
    answer = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a.42:retry_1"})

    assert answer.headers["x-request-id"] == "edge-7f3a.42:retry_1"


@pytest.mark.parametrize("offered", ["", "x" * 129, "a b", "id\u00e9", "<script>", "-starts-with-dash"])
def test_a_malformed_incoming_request_id_is_replaced(client: Client, offered: str) -> None:
    answer = client.get("/healthz", headers={b"X-Request-ID": offered.encode()})

    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])


# --- structured logs -------------------------------------------------------------------------------------------


class LoggingGateway(FakeGateway):
    """Logs from inside a use case (a worker thread), as an adapter would."""

    def initiate_checkout(self, request: CheckoutRequest) -> Checkout:
        logging.getLogger("tests.gateway").warning("opening a checkout", extra={"reference": request.reference})
        return super().initiate_checkout(request)


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    yield io.StringIO()
    reset_logging()
    root.setLevel(level)


def json_lines(output: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.getvalue().splitlines()]


def test_json_log_lines_carry_the_request_id_also_from_worker_threads(
    settings: Settings, log_output: io.StringIO
) -> None:
    offer = GatewayOffer("stripe", ("USD",), {"USD": Decimal("0.50")}, demo=False)
    live = replace(settings, log_format="json")
    configure_logging(live, log_output)
    services = bootstrap(live, gateways={"stripe": LoggingGateway(offer)})
    with TestClient(app=create_app(services)) as client:
        auth = sign_in(client).auth
        answer = client.post(
            "/api/payments/initiate",
            json={"amount": "5.00", "currency": "USD", "gateway": "stripe"},
            headers={**auth, "X-Request-ID": "trace-0001"},
        )
    assert answer.status_code == 201, answer.text

    lines = [line for line in json_lines(log_output) if line.get("request_id") == "trace-0001"]
    gateway_line, access_line = lines
    assert gateway_line["event"] == "opening a checkout"
    assert gateway_line["reference"] == answer.json()["reference"]
    assert gateway_line["level"] == "warning"
    assert access_line == {
        **access_line,
        "logger": "mcpay.access",
        "level": "info",
        "method": "POST",
        "path": "/api/payments/initiate",
        "route": "/api/payments/initiate",
        "status": 201,
    }
    assert isinstance(access_line["duration_ms"], float)
    assert access_line["timestamp"].endswith("Z")
    assert "Bearer" not in log_output.getvalue()


def test_the_access_line_leaves_query_strings_out(settings: Settings, log_output: io.StringIO) -> None:
    configure_logging(replace(settings, log_format="json"), log_output)
    with TestClient(app=create_app(bootstrap(settings))) as client:
        client.get("/api/payments/gateways?token=do-not-log-me")

    [line] = [line for line in json_lines(log_output) if line.get("logger") == "mcpay.access"]
    assert line["path"] == "/api/payments/gateways"
    assert "do-not-log-me" not in json.dumps(line)


def test_demo_mode_logs_readable_lines(settings: Settings, log_output: io.StringIO) -> None:
    configure_logging(settings, log_output)
    with TestClient(app=create_app(bootstrap(settings))) as client:
        answer = client.get("/api/payments/gateways")

    [line] = [line for line in log_output.getvalue().splitlines() if "mcpay.access" in line]
    assert "GET /api/payments/gateways 200" in line
    assert f"request_id={answer.headers['x-request-id']}" in line
    assert not line.startswith("{")


def test_a_configured_secret_is_masked_whatever_logs_it(settings: Settings, log_output: io.StringIO) -> None:
    configure_logging(replace(settings, log_format="json"), log_output)

    logging.getLogger("tests.careless").error("the secret is %s", SESSION_SECRET, extra={"copy": SESSION_SECRET})
    try:
        raise RuntimeError(f"failed with {SESSION_SECRET}")
    except RuntimeError:
        logging.getLogger("tests.careless").exception("boom")

    assert SESSION_SECRET not in log_output.getvalue()
    assert log_output.getvalue().count("[secret]") >= 3


def test_a_secret_is_masked_also_where_json_escapes_it(settings: Settings, log_output: io.StringIO) -> None:
    quoted = 'a "quoted\\secret" of 32 characters!'
    configure_logging(replace(settings, session_secret=quoted, log_format="json"), log_output)

    logging.getLogger("tests.careless").error("the secret is %s", quoted)

    assert json.loads(log_output.getvalue())["event"] == "the secret is [secret]"
