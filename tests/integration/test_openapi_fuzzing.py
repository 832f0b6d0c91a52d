"""Schemathesis against the served OpenAPI schema: generated valid and invalid requests for every operation,
with an admin and auditor's session, never answer 5xx and always answer what the schema documents.

The app runs under uvicorn with its lifespan, as `mcpay serve` runs it. (Schemathesis' lazy pytest fixture
does not work with pytest 9, so each operation's strategy is run here with hypothesis directly.)
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from nacl.signing import SigningKey
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.support import SESSION_SECRET

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHECKS: list[CheckFunction] = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 25}
# Signing out would end the session every other request uses; the event stream stays open by design.
SKIPPED = {("DELETE", "/api/auth/session"), ("GET", "/api/payments/{payment_id}/events")}
KEY = SigningKey.generate()


@dataclass(frozen=True)
class LiveApp:
    url: str
    auth: dict[str, str]


def signed_in(url: str) -> dict[str, str]:
    public_key = KEY.verify_key.encode().hex()
    challenge = httpx.post(f"{url}/api/auth/challenge", json={"public_key": public_key}).json()["challenge"]
    body = {"public_key": public_key, "challenge": challenge, "signature": KEY.sign(challenge.encode()).signature.hex()}
    return {"Authorization": f"Bearer {httpx.post(f'{url}/api/auth/session', json=body).json()['token']}"}


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """Demo mode (every gateway offered), the signed-in key an admin and an auditor, no rate limits."""
    database = Path(tmp_path_factory.mktemp("fuzzing")) / "mcpay.sqlite3"
    roles = frozenset({KEY.verify_key.encode().hex()})
    services = bootstrap(
        Settings(
            database_url=f"sqlite:///{database}",
            session_secret=SESSION_SECRET,
            admin_public_keys=roles,
            auditor_public_keys=roles,
            auth_rate_limit_per_key=0,
            auth_rate_limit_per_address=0,
            reconcile_interval_seconds=0,
            checkpoint_interval_seconds=0,
        )
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(services), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        yield LiveApp(url, signed_in(url))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def fuzz(live: LiveApp, case: Case[Any]) -> None:
    case.call_and_validate(base_url=live.url, headers=live.auth, timeout=10)


def test_every_operation_answers_as_documented_and_never_5xx(live_app: LiveApp) -> None:
    schema = schemathesis.openapi.from_url(f"{live_app.url}/schema/openapi.json")
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"an operation the schema describes wrongly: {result.err()}")
            continue
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        for mode, examples in EXAMPLES.items():

            @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Case[Any]) -> None:
                fuzz(live_app, case)

            try:
                run()
            except Unsatisfiable:
                continue  # no invalid request exists for an operation without inputs
            except (Exception, BaseExceptionGroup) as failure:  # schemathesis' FailureGroup is a BaseExceptionGroup
                failures.append(f"{mode.value} {operation.label}:\n{failure}")
            tried += 1
    assert tried >= 30, f"only {tried} operation runs: the schema lost its operations?"
    assert not failures, "\n\n".join(failures)
