"""`mcpay serve` as real subprocesses (the installed console script), and the HTTP steps the tests take with them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from adapters.persistence import persistence_env
from application.ledger import Ledger
from tests.integration.fake_stripe import API_KEY
from tests.integration.stripe_support import WEBHOOK_SECRET, stripe_event, stripe_signature
from tests.integration.support import SESSION_SECRET
from tests.integration.support import sign_in as signed_in
from tests.processes import START_TIMEOUT, log_tail, stop, wait_until_ready

MCPAY = Path(sys.executable).with_name("mcpay")
# What the environment may carry from a developer's shell that would change what a served process does.
SETTINGS_PREFIXES = (
    "DATABASE_URL", "HOST", "PORT", "PUBLIC_BASE_URL", "DEMO_", "SESSION_", "AUTH_", "LOG_", "CREDIT_RATES",
    "STRIPE_", "CLICKPESA_", "BANK_", "ADMIN_", "AUDITOR_", "LEDGER_", "RECONCILE_", "CHECKPOINT_",
)  # fmt: skip


def serve_env(database_url: str, port: int, stripe_api_base: str, **extra: str) -> dict[str, str]:
    """Live mode, Stripe configured against the fake, no background loops: only requests change the ledger."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES)}
    return {
        **inherited,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DEMO_PAYMENT": "false",
        "SESSION_SECRET": SESSION_SECRET,
        "STRIPE_SECRET_KEY": API_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_api_base,
        "RECONCILE_INTERVAL_SECONDS": "0",
        "CHECKPOINT_INTERVAL_SECONDS": "0",
        "AUTH_RATE_LIMIT_PER_KEY": "0",
        "AUTH_RATE_LIMIT_PER_ADDRESS": "0",
        "LOG_LEVEL": "warning",
        **extra,
    }


@dataclass
class Served:
    """One `mcpay serve` process; it can be killed and started again on the same port."""

    env: dict[str, str]
    log_path: Path
    args: tuple[str, ...] = ()  # after `mcpay serve`, e.g. ("--workers", "2")
    program: tuple[str, ...] = (str(MCPAY), "serve")  # or another server running the app factory
    process: subprocess.Popen[bytes] | None = None
    _log: TextIO | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['PORT']}"

    def start(self) -> None:
        if self._log is not None:
            self._log.close()
        self._log = self.log_path.open("a")
        self._log.write(f"--- mcpay serve started at {time.time():.3f}\n")
        self._log.flush()
        self.process = subprocess.Popen(  # noqa: S603 - the project's own console script
            [*self.program, *self.args], env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        assert self.process is not None, "start() first"
        wait_until_ready(self.url, self.process, self.log_tail, timeout)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no flushing, connections cut mid-request."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
        if self._log is not None:
            self._log.close()

    def log_tail(self, lines: int = 40) -> str:
        if self._log is not None:
            self._log.flush()
        return log_tail(self.log_path, lines)


@contextmanager
def serving(envs: list[dict[str, str]], logs: Path) -> Iterator[list[Served]]:
    """Start every process at once (they start in parallel), wait until each is ready, stop them all after."""
    with ExitStack() as stack:
        servers = [Served(env, logs / f"mcpay-serve-{env['PORT']}.log") for env in envs]
        for server in servers:
            server.start()
            stack.callback(server.stop)
        for server in servers:
            server.wait_ready()
        yield servers


def sign_in(base_url: str) -> dict[str, str]:
    """A new keypair signed in over HTTP: its bearer header."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        return signed_in(client).auth


def initiate(base_url: str, auth: Mapping[str, str], amount: str) -> dict[str, Any]:
    body = {"amount": amount, "currency": "USD", "gateway": "stripe"}
    answer = httpx.post(f"{base_url}/api/payments/initiate", json=body, headers=dict(auth), timeout=30)
    assert answer.status_code == 201, answer.text
    payment: dict[str, Any] = answer.json()
    return payment


@dataclass(frozen=True)
class Webhook:
    """One Stripe delivery: the same bytes every attempt, signed afresh each time as Stripe does."""

    payment_id: str
    body: bytes

    @classmethod
    def paid(cls, payment_id: str, session: Mapping[str, Any], kind: str = "checkout.session.completed") -> Webhook:
        return cls(payment_id, json.dumps(stripe_event(kind, session)).encode())

    def send(self, client: httpx.Client, base_url: str, timeout: float = 30) -> httpx.Response:
        headers = {"Content-Type": "application/json", "Stripe-Signature": stripe_signature(self.body)}
        return client.post(f"{base_url}/api/webhooks/stripe", content=self.body, headers=headers, timeout=timeout)


@contextmanager
def ledger_at(database_url: str) -> Iterator[Ledger]:
    """The write model on the store the processes share, for inspection from the test."""
    ledger = Ledger(env=persistence_env(database_url))
    try:
        yield ledger
    finally:
        ledger.close()
