"""`mcpay serve` run as an operator runs it: worker processes on one port, the refusals at start, SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import POSTGRES_SKIP_REASON
from tests.integration.clickpesa_fake import API_KEY, CHECKSUM_KEY, CLIENT_ID, FakeClickPesa, running
from tests.integration.serve_processes import MCPAY, Served, serve_env, sign_in
from tests.processes import free_port, fresh_schema

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NO_GATEWAY = "http://127.0.0.1:9"  # Stripe is never called here: demo mode simulates it


def demo_env(database_url: str, port: int, **extra: str) -> dict[str, str]:
    return serve_env(database_url, port, NO_GATEWAY, DEMO_PAYMENT="true", **extra)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[Served]]:
    """Servers a test starts; each is stopped afterwards."""
    started: list[Served] = []
    yield started
    for server in started:
        server.stop()


UVICORN_FACTORY = (str(MCPAY.with_name("uvicorn")), "--factory", "entrypoints.http.app:serve_app")


def start(
    served: list[Served], env: dict[str, str], tmp_path: Path, *args: str, program: tuple[str, ...] | None = None
) -> Served:
    server = Served(env, tmp_path / f"serve-{env['PORT']}.log", args)
    if program is not None:
        server.program = program
    served.append(server)
    server.start()
    server.wait_ready()
    return server


def run_serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the project's own console script
        [str(MCPAY), "serve", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def worker_pids(supervisor: int) -> set[int]:
    """The supervisor's worker processes (not multiprocessing's resource tracker, its other child)."""
    children = [int(pid) for pid in Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()]
    return {pid for pid in children if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()}


def lease_holders(database_url: str) -> list[str]:
    """The application names of the connections holding one of mcpay's advisory locks, on this database."""
    server_url = database_url.split("?", 1)[0]
    with psycopg.connect(server_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'mcpay %'"
        ).fetchall()
    return sorted(str(row[0]) for row in rows)


def test_more_than_one_worker_on_sqlite_is_refused_naming_sqlite(tmp_path: Path) -> None:
    env = demo_env(f"sqlite:///{tmp_path / 'mcpay.sqlite3'}", free_port())
    finished = run_serve(env, "--workers", "2")
    assert finished.returncode == 2
    assert "SQLite" in finished.stderr
    assert "PostgreSQL" in finished.stderr
    assert "serving on" not in finished.stdout


def test_web_concurrency_counts_as_workers_too(tmp_path: Path) -> None:
    env = demo_env(f"sqlite:///{tmp_path / 'mcpay.sqlite3'}", free_port(), WEB_CONCURRENCY="3")
    finished = run_serve(env)
    assert finished.returncode == 2
    assert "3 workers" in finished.stderr


def test_other_commands_run_whatever_web_concurrency_says(tmp_path: Path) -> None:
    env = demo_env(f"sqlite:///{tmp_path / 'mcpay.sqlite3'}", free_port(), WEB_CONCURRENCY="2")
    finished = subprocess.run(  # noqa: S603 - the project's own console script
        [str(MCPAY), "ledger", "replay"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert finished.returncode == 0, finished.stderr


def test_a_busy_port_is_one_clear_line_and_a_failure(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        finished = run_serve(demo_env(f"sqlite:///{tmp_path / 'mcpay.sqlite3'}", port))
    assert finished.returncode == 1
    assert finished.stderr.strip().splitlines() == [f"mcpay: cannot listen on 127.0.0.1:{port}: Address already in use"]
    assert "serving on" not in finished.stdout
    assert "Traceback" not in finished.stderr


def test_flags_choose_the_address_over_the_environment(served: list[Served], tmp_path: Path) -> None:
    port = free_port()
    env = demo_env(f"sqlite:///{tmp_path / 'mcpay.sqlite3'}", free_port())
    server = Served(env, tmp_path / "serve.log", ("--host", "127.0.0.1", "--port", str(port)))
    served.append(server)
    server.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        raise AssertionError(server.log_tail())
    assert f"serving on http://127.0.0.1:{port}" in server.log_tail()


@pytest.mark.parametrize("under", ["mcpay serve", "uvicorn --factory"])
def test_sigterm_ends_open_event_streams_with_a_reconnect_event_and_exits_quickly(
    served: list[Served], tmp_path: Path, under: str
) -> None:
    env = demo_env(f"sqlite:///{tmp_path / 'mcpay.sqlite3'}", free_port())
    if under == "mcpay serve":
        server = start(served, env, tmp_path)
    else:
        server = start(served, env, tmp_path, "--port", env["PORT"], program=UVICORN_FACTORY)
    auth = sign_in(server.url)
    body = {"amount": "25.00", "currency": "USD", "gateway": "stripe"}
    payment = httpx.post(f"{server.url}/api/payments/initiate", json=body, headers=auth, timeout=30).json()
    assert server.process is not None
    lines: list[str] = []
    with httpx.stream(
        "GET", f"{server.url}/api/payments/{payment['payment_id']}/events", headers=auth, timeout=30
    ) as stream:
        events = stream.iter_lines()
        while "event: payment" not in lines:
            lines.append(next(events))
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        lines.extend(events)  # until the server ends the stream
    server.process.wait(timeout=10)
    assert time.monotonic() - signalled < 10
    assert "event: reconnect" in lines
    assert 'data: {"reconnect": true}' in lines
    assert "Traceback" not in server.log_tail(200)


def test_sigterm_lets_a_request_in_flight_finish(served: list[Served], tmp_path: Path) -> None:
    with running(FakeClickPesa(delay=2.0)) as clickpesa:
        env = serve_env(
            f"sqlite:///{tmp_path / 'mcpay.sqlite3'}",
            free_port(),
            NO_GATEWAY,
            CLICKPESA_CLIENT_ID=CLIENT_ID,
            CLICKPESA_API_SECRET=API_KEY,
            CLICKPESA_WEBHOOK_SECRET=CHECKSUM_KEY,
            CLICKPESA_API_BASE=clickpesa.url,
        )
        server = start(served, env, tmp_path)
        auth = sign_in(server.url)
        body = {"amount": "10000", "currency": "TZS", "gateway": "clickpesa"}
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(httpx.post, f"{server.url}/api/payments/initiate", json=body, headers=auth, timeout=30)
            while not clickpesa.checkout_requests:  # the checkout is on its way to the (slow) gateway
                time.sleep(0.05)
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            assert answer.result().status_code == 201
        server.process.wait(timeout=10)
    assert time.monotonic() - signalled < 10


def test_ctrl_c_stops_the_server_without_an_error(served: list[Served], tmp_path: Path) -> None:
    server = start(served, demo_env(f"sqlite:///{tmp_path / 'mcpay.sqlite3'}", free_port()), tmp_path)
    assert server.process is not None
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=10) == 0
    assert "Traceback" not in server.log_tail(200)


@pytest.mark.postgres
def test_two_workers_serve_one_port_and_the_background_jobs_run_once(
    postgres_server: str | None, served: list[Served], tmp_path: Path
) -> None:
    if postgres_server is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    with fresh_schema(postgres_server) as url:
        env = demo_env(url, free_port(), RECONCILE_INTERVAL_SECONDS="1")
        server = start(served, env, tmp_path, "--workers", "2")
        assert server.process is not None
        workers = worker_pids(server.process.pid)
        assert len(workers) == 2
        auth = sign_in(server.url)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: httpx.get(f"{server.url}/api/wallet", headers=auth), range(40)))
        assert {answer.status_code for answer in answers} == {200}
        # Each worker counts into its own file; /metrics, answered by either, sums them.
        metrics = httpx.get(f"{server.url}/metrics").text
        counted = 'mcpay_http_requests_total{method="GET",route="/api/wallet",status="200"} 40.0'
        assert counted in metrics, [line for line in metrics.splitlines() if "api/wallet" in line]
        deadline = time.monotonic() + 20
        while len(holders := lease_holders(url)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        jobs = [name for name in holders if name.startswith("mcpay background jobs")]
        assert len(jobs) == 1, holders
        assert int(jobs[0].rsplit(" ", 1)[1].rstrip(")")) in workers
        server.stop()
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_options_and_head_through_the_served_process(served: list[Served], tmp_path: Path) -> None:
    server = start(served, demo_env(f"sqlite:///{tmp_path / 'mcpay.sqlite3'}", free_port()), tmp_path)
    auth = sign_in(server.url)
    body = {"amount": "25.00", "currency": "USD", "gateway": "stripe"}
    payment = httpx.post(f"{server.url}/api/payments/initiate", json=body, headers=auth, timeout=30).json()

    options = httpx.options(f"{server.url}/api/admin/payments", timeout=10)
    wallet = httpx.get(f"{server.url}/api/wallet", headers=auth, timeout=10)
    head = httpx.head(f"{server.url}/api/wallet", headers=auth, timeout=10)
    stream_head = httpx.head(f"{server.url}/api/payments/{payment['payment_id']}/events", headers=auth, timeout=10)

    assert options.status_code == 204
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(wallet.content))
    assert stream_head.status_code == 200
    assert stream_head.headers["content-type"].startswith("text/event-stream")
