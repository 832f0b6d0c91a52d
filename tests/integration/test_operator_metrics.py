"""The metrics an operator alerts on: gateway calls and their latency, ClickPesa's daily quota, webhook results,
payments waiting for an admin, requests in flight; and no `_created` series."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from adapters.prometheus_metrics import PrometheusMetrics
from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.clickpesa_fake import API_KEY, CHECKSUM_KEY, CLIENT_ID, FakeClickPesa, running
from tests.integration.metrics_support import grew, scrape
from tests.integration.support import SESSION_SECRET, sign_in

pytestmark = pytest.mark.integration

Client = TestClient[Litestar]


@pytest.fixture
def demo_client(sqlite_url: str) -> Iterator[Client]:
    settings = Settings(database_url=sqlite_url, session_secret=SESSION_SECRET, reconcile_interval_seconds=0)
    with TestClient(app=create_app(bootstrap(settings, metrics=PrometheusMetrics()))) as client:
        yield client


@pytest.fixture
def clickpesa() -> Iterator[FakeClickPesa]:
    with running(FakeClickPesa()) as fake:
        yield fake


@pytest.fixture
def live_client(sqlite_url: str, clickpesa: FakeClickPesa) -> Iterator[Client]:
    settings = Settings(
        database_url=sqlite_url,
        demo_payment=False,
        session_secret=SESSION_SECRET,
        clickpesa_client_id=CLIENT_ID,
        clickpesa_api_secret=API_KEY,
        clickpesa_webhook_secret=CHECKSUM_KEY,
        clickpesa_api_base=clickpesa.url,
        reconcile_interval_seconds=0,
    )
    with TestClient(app=create_app(bootstrap(settings, metrics=PrometheusMetrics()))) as client:
        yield client


def test_no_created_series_are_exposed(demo_client: Client) -> None:
    sign_in(demo_client)

    text = demo_client.get("/metrics").text

    assert "_created" not in text
    assert "mcpay_http_requests_total" in text


def test_requests_in_flight_count_the_scrape_itself(demo_client: Client) -> None:
    assert scrape(demo_client)[("mcpay_http_requests_in_flight", frozenset())] >= 1


def test_webhook_deliveries_are_counted_by_what_they_did(demo_client: Client) -> None:
    auth = sign_in(demo_client).auth
    body = {"amount": "25.00", "currency": "USD", "gateway": "stripe"}
    payment = demo_client.post("/api/payments/initiate", json=body, headers=auth).json()
    before = scrape(demo_client)

    for _ in range(2):  # the second delivery finds the payment settled
        demo_client.post(f"/demo/checkout/{payment['payment_id']}/pay", follow_redirects=False)
    bad = demo_client.post("/api/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})
    after = scrape(demo_client)

    assert bad.status_code == 400
    assert grew(before, after, "mcpay_webhook_deliveries_total", gateway="stripe", result="confirmed") == 1
    assert grew(before, after, "mcpay_webhook_deliveries_total", gateway="stripe", result="duplicate") == 1
    assert grew(before, after, "mcpay_webhook_deliveries_total", gateway="stripe", result="rejected") == 1


def test_the_writers_groups_are_counted_with_their_sizes_and_reads(demo_client: Client) -> None:
    auth = sign_in(demo_client).auth
    body = {"amount": "25.00", "currency": "USD", "gateway": "stripe"}
    payment = demo_client.post("/api/payments/initiate", json=body, headers=auth).json()
    before = scrape(demo_client)

    for _ in range(2):  # one after the other: a group each
        demo_client.post(f"/demo/checkout/{payment['payment_id']}/pay", follow_redirects=False)
    after = scrape(demo_client)

    assert grew(before, after, "mcpay_writer_groups_total", outcome="committed") == 2
    assert grew(before, after, "mcpay_writer_group_size_count") == 2
    assert grew(before, after, "mcpay_writer_group_size_bucket", le="1.0") == 2
    assert grew(before, after, "mcpay_writer_aggregates_read_total", source="store") >= 2  # its reference, payment
    assert grew(before, after, "mcpay_writer_aggregates_read_total", source="cache") >= 2  # the same, as kept
    assert ("mcpay_writer_conflicts_total", frozenset()) in after
    assert grew(before, after, "mcpay_writer_wait_seconds_count") == 2
    for phase in ("read", "decide", "save"):
        assert grew(before, after, "mcpay_writer_phase_seconds_count", phase=phase) == 2
        assert grew(before, after, "mcpay_writer_phase_seconds_sum", phase=phase) > 0


def test_gateway_calls_are_counted_by_outcome_and_timed_and_count_against_the_quota(
    live_client: Client, clickpesa: FakeClickPesa
) -> None:
    auth = sign_in(live_client).auth
    body = {"amount": "10000", "currency": "TZS", "gateway": "clickpesa"}
    before = scrape(live_client)

    assert live_client.post("/api/payments/initiate", json=body, headers=auth).status_code == 201
    clickpesa.down = True
    assert live_client.post("/api/payments/initiate", json=body, headers=auth).status_code == 503
    after = scrape(live_client)

    calls = "mcpay_gateway_calls_total"
    assert grew(before, after, calls, gateway="clickpesa", operation="checkout", outcome="ok") == 1
    assert grew(before, after, calls, gateway="clickpesa", operation="checkout", outcome="unavailable") == 1
    duration = "mcpay_gateway_call_duration_seconds_count"
    assert grew(before, after, duration, gateway="clickpesa", operation="checkout") == 2
    quota = "mcpay_clickpesa_api_calls_total"
    assert grew(before, after, quota, call="token") == 1  # one token, shared by both calls
    assert grew(before, after, quota, call="checkout") == 2
    assert sum(grew(before, after, quota, call=call) for call in ("token", "checkout", "status")) == len(
        clickpesa.received
    )


def test_payments_waiting_for_an_admin_are_a_gauge(demo_client: Client) -> None:
    auth = sign_in(demo_client).auth
    body = {"amount": "1500.00", "currency": "USD", "gateway": "bank"}
    for _ in range(2):
        assert demo_client.post("/api/payments/initiate", json=body, headers=auth).status_code == 201

    deadline = time.monotonic() + 10  # the read side's follower reports it about once a second
    while (
        waiting := scrape(demo_client).get(("mcpay_payments_awaiting_admin", frozenset({("status", "pending")})))
    ) != 2:
        assert time.monotonic() < deadline, waiting
        time.sleep(0.2)
    assert scrape(demo_client)[("mcpay_payments_awaiting_admin", frozenset({("status", "needs_review")}))] == 0
