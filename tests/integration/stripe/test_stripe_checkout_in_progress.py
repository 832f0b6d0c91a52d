"""An Idempotency-Key replay that arrives while the first request is still opening its Stripe checkout, over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.integration.fake_stripe import FakeStripe
from tests.integration.stripe_support import StripeApp, served, stripe_app

pytestmark = pytest.mark.integration

BODY = {"amount": "25.00", "currency": "USD", "gateway": "stripe"}


@pytest.fixture
def slow_app(fake: FakeStripe, sqlite_url: str) -> Iterator[StripeApp]:
    with stripe_app(fake, sqlite_url, checkout_replay_wait_seconds=1) as built:
        yield built


def initiate(base: str, auth: dict[str, str], key: str) -> httpx.Response:
    return httpx.post(f"{base}/api/payments/initiate", json=BODY, headers={**auth, "Idempotency-Key": key}, timeout=30)


def first_request_opening(pool: ThreadPoolExecutor, app: StripeApp, base: str) -> Future[httpx.Response]:
    """The first request, sent and held at Stripe: its payment is recorded, its checkout not yet."""
    hold = app.fake.hold_creates()
    first = pool.submit(initiate, base, app.auth, "order-1")
    hold.wait_arrived()
    return first


def test_a_replay_while_the_checkout_is_opening_is_a_409_with_retry_after(slow_app: StripeApp) -> None:
    with served(slow_app.services) as base, ThreadPoolExecutor(2) as pool:
        first = first_request_opening(pool, slow_app, base)
        try:
            replay = initiate(base, slow_app.auth, "order-1")
        finally:
            assert slow_app.fake.hold is not None
            slow_app.fake.hold.release()
        opened = first.result()
        again = initiate(base, slow_app.auth, "order-1")

    assert replay.status_code == 409, replay.text
    assert replay.headers["content-type"].startswith("application/problem+json")
    assert replay.json()["type"] == "/problems/checkout-in-progress"
    assert 1 <= int(replay.headers["retry-after"]) <= 5
    assert opened.status_code == 201 and opened.json()["payment_url"] == slow_app.fake.only_session()["url"]
    assert again.status_code == 200
    assert again.json()["payment_url"] == opened.json()["payment_url"]
    assert len(slow_app.fake.sessions) == 1


def test_a_replay_waits_for_a_checkout_that_opens_meanwhile_and_answers_it(slow_app: StripeApp) -> None:
    with served(slow_app.services) as base, ThreadPoolExecutor(2) as pool:
        first = first_request_opening(pool, slow_app, base)
        assert slow_app.fake.hold is not None
        threading.Timer(0.3, slow_app.fake.hold.release).start()
        replay = initiate(base, slow_app.auth, "order-1")
        opened = first.result()

    assert (opened.status_code, replay.status_code) == (201, 200), replay.text
    payment: dict[str, Any] = replay.json()
    assert payment["payment_url"] == opened.json()["payment_url"] == slow_app.fake.only_session()["url"]
    assert payment["payment_id"] == opened.json()["payment_id"]
    assert len(slow_app.fake.created()) == 1


def test_the_schema_documents_the_checkout_in_progress_answer(app: StripeApp) -> None:
    operation = app.client.get("/schema/openapi.json").json()["paths"]["/api/payments/initiate"]["post"]
    conflict = operation["responses"]["409"]
    assert "checkout-in-progress" in conflict["description"]
    assert "Retry-After" in conflict["headers"]
