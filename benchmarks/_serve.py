"""`mcpay serve` in a process of its own on a free port, as operators run it, for the HTTP benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from entrypoints.bootstrap import webhook_secret
from entrypoints.settings import Settings
from tests.processes import free_port, log_tail, running, stop

SESSION_SECRET = "benchmark-session-secret-0123456789abcdef"  # noqa: S105 - demo mode: webhook secrets derive from it
QUIET = {
    "RECONCILE_INTERVAL_SECONDS": "0",  # no background work beside what is measured
    "CHECKPOINT_INTERVAL_SECONDS": "0",
    "AUTH_RATE_LIMIT_PER_KEY": "0",  # every client signs in from 127.0.0.1
    "AUTH_RATE_LIMIT_PER_ADDRESS": "0",
    "LOG_FORMAT": "json",  # as in live mode: demo mode's default is the console renderer, for people reading along
}
READY_TIMEOUT = 180  # seconds: a busy machine starts workers slowly
# Set in the caller's shell, this would replace the demo secret that the clients sign with.
NOT_INHERITED = {"STRIPE_WEBHOOK_SECRET"}


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    settings: Settings  # what the server derives its secrets from

    def webhook_secret(self, gateway: str) -> str:
        return webhook_secret(self.settings, gateway)


def bench_settings(database_url: str) -> Settings:
    """The settings the served process reads from its environment (demo mode, a fixed session secret)."""
    return Settings(database_url=database_url, session_secret=SESSION_SECRET, demo_payment=True)


@contextmanager
def serving(database_url: str, log: Path, workers: int = 1) -> Iterator[Server]:
    """`python -m entrypoints.cli serve --workers N` on `database_url`, its output in `log`, until the block
    ends (more than one worker: PostgreSQL only; `pid` is then the supervisor's)."""
    port = free_port()
    inherited = {name: value for name, value in os.environ.items() if name not in NOT_INHERITED}
    env = {
        **inherited,
        **QUIET,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DEMO_PAYMENT": "true",
        "SESSION_SECRET": SESSION_SECRET,
    }
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "entrypoints.cli", "serve", "--workers", str(workers)]
    with running(command, env, url, log, timeout=READY_TIMEOUT, stop_timeout=15) as process:
        store = database_url.split(":", 1)[0]
        print(f"  mcpay serve pid {process.pid} on {url} ({store}, {plural_workers(workers)})")
        yield Server(url, process.pid, bench_settings(database_url))


@contextmanager
def projecting(database_url: str, log: Path) -> Iterator[int]:
    """`mcpay projections run` on `database_url` until the block ends, holding the projection lease before the block
    starts (the served processes then leave the projections to it); answers its pid."""
    env = {**os.environ, **QUIET, "DATABASE_URL": database_url, "SESSION_SECRET": SESSION_SECRET}
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "projections", "run"], env=env, stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while "now runs the projections" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mcpay projections run did not take the lease:\n{log_tail(log)}")
            time.sleep(0.1)
        print(f"  mcpay projections run pid {process.pid}: the server's workers leave the projections to it")
        yield process.pid
    finally:
        stop(process)


def worker_counts(text: str) -> list[int]:
    """`--workers 1,2`: the worker counts to run side by side."""
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise ValueError(f"--workers takes positive counts, comma-separated, not {text!r}")
    return counts


def plural_workers(count: int) -> str:
    return f"{count} worker{'s' if count > 1 else ''}"
