"""PostgreSQL stopped and started again under load: `mcpay serve` answers 503 problems meanwhile, never a 500 and
never a hang, and is itself again once the database is back, without being restarted.

The database is a private cluster made for this test (`private_postgres`): the shared one is never stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.fake_stripe import running_fake_stripe
from tests.integration.private_postgres import PrivatePostgres, private_postgres, unavailable_reason
from tests.integration.serve_processes import Served, Webhook, initiate, serve_env, serving, sign_in
from tests.processes import free_port

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.slow]

REQUEST_TIMEOUT = 10.0  # the longest any request may take, database up or down
RECOVERY_TIMEOUT = 20.0  # from PostgreSQL accepting connections again to /readyz answering 200
DOWN_FOR_AT_LEAST = 3.0


@dataclass(frozen=True)
class Answer:
    kind: str
    started: float
    ended: float
    status: int | None  # None: no answer within REQUEST_TIMEOUT, or the connection failed
    content_type: str
    body: str


@dataclass
class Load:
    """Threads that each send one kind of request in a loop and record every answer."""

    requests: dict[str, Callable[[httpx.Client], httpx.Response]]
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for kind, send in self.requests.items():
            thread = threading.Thread(target=self._loop, args=(kind, send), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)

    def between(self, start: float, end: float) -> list[Answer]:
        return [answer for answer in self.answers if start <= answer.started and answer.ended <= end]

    def _loop(self, kind: str, send: Callable[[httpx.Client], httpx.Response]) -> None:
        with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    response = send(client)
                    status, content_type, body = (
                        response.status_code,
                        response.headers.get("content-type", ""),
                        response.text,
                    )
                except httpx.HTTPError as error:
                    status, content_type, body = None, "", repr(error)
                self.answers.append(Answer(kind, started, time.monotonic(), status, content_type, body[:300]))
                time.sleep(0.05)


@pytest.fixture
def database() -> Iterator[PrivatePostgres]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"no private PostgreSQL cluster can be made: {reason}")
    with private_postgres(free_port()) as cluster:
        yield cluster


def load_on(server: Served, auth: dict[str, str], webhook: Webhook) -> Load:
    url = server.url
    order = {"amount": "1.00", "currency": "USD", "gateway": "stripe"}
    return Load(
        {
            "readyz": lambda client: client.get(f"{url}/readyz"),
            "wallet": lambda client: client.get(f"{url}/api/wallet", headers=auth),
            "initiate": lambda client: client.post(f"{url}/api/payments/initiate", json=order, headers=auth),
            "webhook": lambda client: webhook.send(client, url, timeout=REQUEST_TIMEOUT),
        }
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not within {timeout} s"
        time.sleep(0.1)


def ready(server: Served) -> bool:
    try:
        return httpx.get(f"{server.url}/readyz", timeout=REQUEST_TIMEOUT).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_database_restart_under_load_is_503_meanwhile_and_recovers_without_restarting_mcpay(
    database: PrivatePostgres, tmp_path: Path
) -> None:
    with running_fake_stripe() as fake, serving([serve_env(database.url, free_port(), fake.url)], tmp_path) as [server]:
        auth = sign_in(server.url)
        before = initiate(server.url, auth, "5.00")
        session = next(s for s in fake.sessions.values() if s["client_reference_id"] == before["reference"])
        paid_before = Webhook.paid(before["payment_id"], fake.complete(session["id"]))
        load = load_on(server, auth, paid_before)
        load.start()
        try:
            time.sleep(1.0)
            database.stop()
            down_since = time.monotonic()
            wait_for(lambda: every_kind_answered(load, down_since), 4 * REQUEST_TIMEOUT, "an answer of each kind")
            time.sleep(max(0.0, DOWN_FOR_AT_LEAST - (time.monotonic() - down_since)))
            down = load.between(down_since, time.monotonic())
            database.start()
            wait_for(lambda: ready(server), RECOVERY_TIMEOUT, "/readyz 200 after PostgreSQL came back")
        finally:
            load.stop()

        assert_clean_unavailability(down)
        assert_never_an_error_or_a_hang(load.answers)
        assert server.process is not None and server.process.poll() is None, "mcpay serve was not restarted"
        assert_works_again(server, auth, paid_before, fake.sessions, fake.complete)


def every_kind_answered(load: Load, since: float) -> bool:
    now = time.monotonic()
    return {answer.kind for answer in load.between(since, now)} == set(load.requests)


def assert_clean_unavailability(down: list[Answer]) -> None:
    """While PostgreSQL is down: every request that needs it is a 503 problem, quickly."""
    assert down
    for answer in down:
        assert answer.status == 503, answer
        assert answer.content_type.startswith("application/problem+json"), answer
        assert '"status":503' in answer.body.replace(" ", ""), answer


def assert_never_an_error_or_a_hang(answers: list[Answer]) -> None:
    for answer in answers:
        assert answer.status is not None, f"no answer within {REQUEST_TIMEOUT} s: {answer}"
        assert answer.status < 500 or answer.status == 503, answer
        assert answer.ended - answer.started < REQUEST_TIMEOUT, answer


def assert_works_again(
    server: Served,
    auth: dict[str, str],
    paid_before: Webhook,
    sessions: dict[str, dict[str, Any]],
    complete: Callable[[str], dict[str, Any]],
) -> None:
    """A new top-up, paid and delivered after the restart, is credited beside the one paid before it."""
    payment = initiate(server.url, auth, "5.00")
    session = next(s for s in sessions.values() if s["client_reference_id"] == payment["reference"])
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        again = paid_before.send(client, server.url)  # the gateway's retry, if no delivery got through before
        assert (again.status_code, again.json()["result"] in ("confirmed", "duplicate")) == (200, True), again.text
        answer = Webhook.paid(payment["payment_id"], complete(session["id"])).send(client, server.url)
        assert (answer.status_code, answer.json()["result"]) == (200, "confirmed"), answer.text
        wait_for(
            lambda: client.get(f"{server.url}/api/wallet", headers=auth).json()["balance"] == "10.00",
            RECOVERY_TIMEOUT,
            "a balance of 10.00 MC",
        )
