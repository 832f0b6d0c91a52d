"""Schemathesis against the served OpenAPI schema, with every check it has: generated valid requests for every
operation are accepted (positive data acceptance) and invalid ones refused, answers never 5xx and always as
documented, with an admin and auditor's session.

What no schema can generate, the test supplies as a client holding it would: valid requests carry a cursor the
list gave out, webhooks signed with this deployment's secret, as the gateway signs them, and spends signed by the
signed-in key just now, for an amount the wallet covers. The app runs under
uvicorn with its lifespan, as `mcpay serve` runs it. (Schemathesis' lazy pytest fixture does not work with
pytest 9, so each operation's strategy is run here with hypothesis directly.)
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, reject, settings
from hypothesis.errors import Unsatisfiable
from nacl.signing import SigningKey
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import CHECKS, is_check_class, load_all_checks
from schemathesis.core.result import Ok

from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from entrypoints.webhook_sign import signed_webhook
from tests.integration.support import SESSION_SECRET

pytestmark = [pytest.mark.integration, pytest.mark.slow]

load_all_checks()
ALL_CHECKS = [check for check in CHECKS.get_all() if not is_check_class(check)]  # every check Schemathesis has
EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 25}
# Signing out would end the session every other request uses; the event stream stays open by design.
SKIPPED = {("DELETE", "/api/auth/session"), ("GET", "/api/payments/{payment_id}/events")}
KEY = SigningKey.generate()


WEBHOOKS = {"/api/webhooks/stripe": "stripe", "/api/webhooks/clickpesa": "clickpesa"}
SPENDS = "/api/wallet/spends"


@dataclass(frozen=True)
class LiveApp:
    url: str
    auth: dict[str, str]
    settings: Settings


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
    settings = Settings(
        database_url=f"sqlite:///{database}",
        session_secret=SESSION_SECRET,
        admin_public_keys=roles,
        auditor_public_keys=roles,
        auth_rate_limit_per_key=0,
        auth_rate_limit_per_address=0,
        reconcile_interval_seconds=0,
        checkpoint_interval_seconds=0,
    )
    services = bootstrap(settings)
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
        live = LiveApp(url, signed_in(url), settings)
        top_ups(live, paid=3, pending=2)
        yield live
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def top_ups(live: LiveApp, paid: int, pending: int) -> None:
    """Payments and wallet movements enough for every list to have a second page."""
    for index in range(paid + pending):
        body = {"amount": "5.00", "currency": "USD", "gateway": "stripe"}
        payment = httpx.post(f"{live.url}/api/payments/initiate", json=body, headers=live.auth).json()
        if index < paid:
            httpx.post(f"{live.url}/demo/checkout/{payment['payment_id']}/pay")


def fuzz(live: LiveApp, case: Case[Any], mode: GenerationMode) -> None:
    if mode is GenerationMode.NEGATIVE and sends_nothing_undeclared(case):
        reject()
    if mode is GenerationMode.POSITIVE and case.operation.path in WEBHOOKS:
        deliver_signed(live, case, WEBHOOKS[case.operation.path])
        return
    if mode is GenerationMode.POSITIVE and case.operation.path == SPENDS and case.method.upper() == "POST":
        sign_spend(case)
    if mode is GenerationMode.POSITIVE and case.query and "cursor" in case.query:
        continue_listing(live, case)
    case.call_and_validate(base_url=live.url, headers=live.auth, checks=ALL_CHECKS, timeout=10)


def sends_nothing_undeclared(case: Case[Any]) -> bool:
    """An undeclared query parameter with no values is not sent at all: the request as sent is a valid one."""
    declared = {parameter.name for parameter in case.operation.query}
    extra = [value for name, value in (case.query or {}).items() if name not in declared]
    return bool(extra) and all(value == [] for value in extra)


def continue_listing(live: LiveApp, case: Case[Any]) -> None:
    """A cursor the list gave out for the same filters (none if the filters leave a single page)."""
    query = {name: value for name, value in (case.query or {}).items() if name not in ("cursor", "limit")}
    first = httpx.get(f"{live.url}{case.formatted_path}", params={**query, "limit": 1}, headers=live.auth)
    cursor = first.json().get("next_cursor") if first.status_code == 200 else None
    if cursor is None:
        del case.query["cursor"]
    else:
        case.query["cursor"] = cursor


def sign_spend(case: Case[Any]) -> None:
    """The generated payee, order and memo, signed now by the wallet's owner for 0.01 MC (the wallet holds 15)."""
    assert isinstance(case.body, dict), case.body
    body = dict(case.body)
    body.update(amount="0.01", signed_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    message = {
        "type": "mcpay.spend.v1",
        "user_id": KEY.verify_key.encode().hex(),
        "currency": "MC",
        "memo": body.get("memo", ""),
        **{name: body[name] for name in ("payee", "order_id", "amount", "signed_at")},
    }
    canonical = json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    body["signature"] = KEY.sign(canonical).signature.hex()
    case.body = body


def deliver_signed(live: LiveApp, case: Case[Any], gateway: str) -> None:
    """The generated event, signed as the gateway signs it: Stripe-Signature, or ClickPesa's checksum."""
    body = json.dumps(case.body).encode()
    signed = signed_webhook(gateway, body, live.settings)
    if gateway == "stripe":
        headers = {**dict(case.headers or {}), "Stripe-Signature": signed, "Content-Type": "application/json"}
    else:
        body, headers = signed.encode(), {"Content-Type": "application/json"}
    response = httpx.post(f"{live.url}{case.formatted_path}", content=body, headers=headers, timeout=10)
    case.validate_response(response, checks=ALL_CHECKS, headers=headers, transport_kwargs={"base_url": live.url})


def fuzz_operation(
    live: LiveApp, operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, examples: int
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples on every run: a CI failure reproduces here
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case[Any]) -> None:
        fuzz(live, case, mode)

    run()


def test_every_operation_answers_as_documented_and_never_5xx(live_app: LiveApp) -> None:
    checks = {check.__name__ for check in ALL_CHECKS}
    assert {"positive_data_acceptance", "negative_data_rejection", "response_schema_conformance"} <= checks
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
            try:
                fuzz_operation(live_app, operation, mode, examples)
            except Unsatisfiable:
                continue  # no invalid request exists for an operation without inputs
            except (Exception, BaseExceptionGroup) as failure:  # schemathesis' FailureGroup is a BaseExceptionGroup
                failures.append(f"{mode.value} {operation.label}:\n{failure}")
            tried += 1
    assert tried >= 30, f"only {tried} operation runs: the schema lost its operations?"
    assert not failures, "\n\n".join(failures)
