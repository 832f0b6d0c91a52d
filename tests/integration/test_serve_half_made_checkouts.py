"""`mcpay serve` killed with SIGKILL while it opens a checkout. Stripe, on SQLite and on PostgreSQL: the retry with
the same Idempotency-Key, or `mcpay reconcile`, finishes the payment with the one session Stripe holds for it.
ClickPesa, whose link cannot be had again: the retry gets the payment failed, with the reason."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from tests.integration.clickpesa_fake import API_KEY, CHECKSUM_KEY, CLIENT_ID, FakeClickPesa, running
from tests.integration.fake_stripe import FakeStripe, running_fake_stripe
from tests.integration.holds import Hold
from tests.integration.serve_processes import MCPAY, Served, ledger_at, serve_env, sign_in
from tests.processes import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ABANDONED_AFTER_SECONDS = 4
BODY = {"amount": "25.00", "currency": "USD", "gateway": "stripe"}
CLICKPESA_BODY = {"amount": "25.00", "currency": "USD", "gateway": "clickpesa"}
RETRY_FOR_SECONDS = 60.0


@dataclass
class Killable:
    database_url: str
    fake: FakeStripe
    server: Served

    clickpesa: FakeClickPesa

    def initiate(self, auth: dict[str, str], key: str, body: dict[str, str] = BODY) -> httpx.Response:
        headers = {**auth, "Idempotency-Key": key}
        return httpx.post(f"{self.server.url}/api/payments/initiate", json=body, headers=headers, timeout=30)

    def killed_while_opening(self, auth: dict[str, str], key: str, never_reaching: bool = False) -> None:
        """The request sent, its payment recorded and its create held at Stripe: then SIGKILL, and a restart."""
        self._kill_while_held(self.fake.hold_creates(never_reaching), auth, key, BODY)
        self.fake.hold = None

    def killed_while_opening_at_clickpesa(self, auth: dict[str, str], key: str) -> None:
        """The same at ClickPesa, which takes the order once released: its link dies with the process."""
        self._kill_while_held(self.clickpesa.hold_checkouts(), auth, key, CLICKPESA_BODY)
        self.clickpesa.hold = None

    def _kill_while_held(self, hold: Hold, auth: dict[str, str], key: str, body: dict[str, str]) -> None:
        sender = threading.Thread(target=self._send_unanswered, args=(auth, key, body))
        sender.start()
        hold.wait_arrived()
        self.server.kill()
        hold.release()
        sender.join()
        self.server.start()
        self.server.wait_ready()

    def _send_unanswered(self, auth: dict[str, str], key: str, body: dict[str, str]) -> None:
        with pytest.raises(httpx.TransportError):
            self.initiate(auth, key, body)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def killable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Killable]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    with running_fake_stripe() as fake, running(FakeClickPesa()) as clickpesa:
        env = serve_env(
            url,
            free_port(),
            fake.url,
            CHECKOUT_ABANDONED_AFTER_SECONDS=str(ABANDONED_AFTER_SECONDS),
            CHECKOUT_REPLAY_WAIT_SECONDS="1",
            RECONCILE_MIN_AGE_SECONDS="0",
            CLICKPESA_CLIENT_ID=CLIENT_ID,
            CLICKPESA_API_SECRET=API_KEY,
            CLICKPESA_WEBHOOK_SECRET=CHECKSUM_KEY,
            CLICKPESA_API_BASE=clickpesa.url,
        )
        server = Served(env, tmp_path / "mcpay-serve.log")
        server.start()
        try:
            server.wait_ready()
            yield Killable(url, fake, server, clickpesa)
        finally:
            server.stop()


def retried_until_usable(
    killable: Killable, auth: dict[str, str], key: str, body: dict[str, str] = BODY
) -> tuple[dict[str, Any], list[int]]:
    """A client's retries: each 409 is waited out for its Retry-After; answers the payment and every status seen."""
    statuses = []
    deadline = time.monotonic() + RETRY_FOR_SECONDS
    while time.monotonic() < deadline:
        answer = killable.initiate(auth, key, body)
        statuses.append(answer.status_code)
        if answer.status_code != 409:
            assert answer.status_code == 200, answer.text
            return answer.json(), statuses
        assert answer.json()["type"] == "/problems/checkout-in-progress"
        time.sleep(int(answer.headers["retry-after"]))
    raise AssertionError(f"no usable answer in {RETRY_FOR_SECONDS} s: {statuses}")


def test_a_retry_after_sigkill_gets_the_session_the_killed_process_created(killable: Killable) -> None:
    auth = sign_in(killable.server.url)
    killable.killed_while_opening(auth, "order-1")
    (session,) = killable.fake.sessions.values()  # made at Stripe; its answer died with the process

    payment, statuses = retried_until_usable(killable, auth, "order-1")

    assert set(statuses[:-1]) <= {409} and statuses[-1] == 200
    assert (payment["status"], payment["payment_url"]) == ("pending", session["url"])
    assert len(killable.fake.sessions) == 1
    assert len(killable.fake.created()) == 1  # found among the open sessions, not created again
    with ledger_at(killable.database_url) as ledger:
        assert ledger.payment(UUID(payment["payment_id"])).checkout_id == session["id"]
    assert killable.initiate(auth, "order-1").json() == payment


def test_reconcile_after_sigkill_opens_the_checkout_that_never_reached_stripe(killable: Killable) -> None:
    auth = sign_in(killable.server.url)
    killable.killed_while_opening(auth, "order-2", never_reaching=True)
    assert killable.fake.sessions == {}
    time.sleep(ABANDONED_AFTER_SECONDS)

    reconcile = subprocess.run(  # noqa: S603 - the project's own console script
        [str(MCPAY), "reconcile"], env=killable.server.env, capture_output=True, text=True, timeout=60, check=False
    )

    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
    assert "checkout-recovered: 1" in reconcile.stdout
    (session,) = killable.fake.sessions.values()
    payment = killable.initiate(auth, "order-2")
    assert payment.status_code == 200
    assert (payment.json()["status"], payment.json()["payment_url"]) == ("pending", session["url"])
    assert session["client_reference_id"] == payment.json()["reference"]


def test_a_retry_after_sigkill_at_clickpesa_gets_the_payment_failed_with_the_reason(killable: Killable) -> None:
    auth = sign_in(killable.server.url)
    killable.killed_while_opening_at_clickpesa(auth, "order-3")
    (reference,) = killable.clickpesa.orders  # ClickPesa holds the order; the link it gave died with the process

    payment, statuses = retried_until_usable(killable, auth, "order-3", CLICKPESA_BODY)

    assert set(statuses[:-1]) <= {409} and statuses[-1] == 200
    assert (payment["reference"], payment["status"], payment["payment_url"]) == (reference, "failed", None)
    asked = [(r.method, r.path) for r in killable.clickpesa.received if r.path != "/generate-token"]
    checkout = ("POST", "/checkout-link/generate-checkout-url")
    assert asked == [checkout, checkout, ("GET", f"/payments/{reference}")]
    with ledger_at(killable.database_url) as ledger:
        reason = ledger.payment(UUID(payment["payment_id"])).status_reason
    assert reason is not None and "Order reference already used" in reason
