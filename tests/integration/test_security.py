"""Security: other users' data stays hidden, roles hold, only signed webhooks count, sessions end, sign-in is
rate-limited, and no secret leaves the process (logs, errors, events, exports, metrics)."""

from __future__ import annotations

import io
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient
from nacl.signing import SigningKey

from adapters.prometheus_metrics import PrometheusMetrics
from entrypoints.bootstrap import Services, bootstrap, webhook_secret
from entrypoints.http.app import create_app
from entrypoints.logs import configure_logging, reset_logging
from entrypoints.settings import Settings
from tests.integration import clickpesa_fake
from tests.integration.clickpesa_fake import checksum_of
from tests.integration.fake_stripe import Failure, FakeStripe, running_fake_stripe
from tests.integration.spend_support import spend_body
from tests.integration.stripe_support import charge, served, stripe_event, stripe_signature
from tests.integration.support import SESSION_SECRET, FakeClock, SignedIn, last_position, sign_in

pytestmark = pytest.mark.integration

Client = TestClient[Litestar]
ADMIN = SigningKey.generate()
AUDITOR = SigningKey.generate()
PAYMENT_ID = re.compile(r"\{payment_id(:\w+)?\}")
SPEND_ID = re.compile(r"\{spend_id(:\w+)?\}")


def public(key: SigningKey) -> str:
    return key.verify_key.encode().hex()


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, f"{answer.request.method} {answer.request.url}: {answer.text}"
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = answer.json()
    assert problem["status"] == status
    return problem


def settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "session_secret": SESSION_SECRET,
        "admin_public_keys": frozenset({public(ADMIN)}),
        "auditor_public_keys": frozenset({public(AUDITOR)}),
        "reconcile_interval_seconds": 0,
        "checkpoint_interval_seconds": 0,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(sqlite_url: str, clock: FakeClock) -> Services:
    return bootstrap(settings_for(sqlite_url, session_ttl_seconds=3600), clock=clock)


@pytest.fixture
def app(services: Services) -> Litestar:
    return create_app(services)


@pytest.fixture
def client(app: Litestar) -> Iterator[Client]:
    with TestClient(app=app) as test_client:
        yield test_client


def initiate(
    client: Client | httpx.Client, person: SignedIn, amount: str, currency: str, gateway: str
) -> dict[str, Any]:
    body = {"amount": amount, "currency": currency, "gateway": gateway}
    answer = client.post("/api/payments/initiate", json=body, headers=person.auth)
    assert answer.status_code == 201, answer.text
    payment: dict[str, Any] = answer.json()
    return payment


def api_routes(app: Litestar, prefix: str) -> list[tuple[str, str]]:
    """Every (method, path template) the app serves under `prefix`: new routes are covered as they come."""
    found: list[tuple[str, str]] = [
        (method, route.path_format)
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path_format.startswith(prefix)
        for method in sorted(route.methods - {"OPTIONS", "HEAD"})
    ]
    assert found, f"no routes under {prefix}"
    return found


# --- another user's data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alice:
    person: SignedIn
    payments: list[dict[str, Any]]
    spend: dict[str, Any]

    @property
    def traces(self) -> list[str]:
        """What must never show in another user's answers."""
        named = [p[field] for p in self.payments for field in ("payment_id", "reference")]
        return [self.person.user_id, *named, self.spend["spend_id"], self.spend["order_id"]]


def alice_with_payments(client: Client | httpx.Client) -> Alice:
    alice = sign_in(client)
    paid = initiate(client, alice, "25.00", "USD", "stripe")
    assert client.post(f"/demo/checkout/{paid['payment_id']}/pay", follow_redirects=False).status_code == 303
    pending = initiate(client, alice, "1000.00", "USD", "bank")
    failed = initiate(client, alice, "10000", "TZS", "clickpesa")
    assert client.post(f"/demo/checkout/{failed['payment_id']}/fail", follow_redirects=False).status_code == 303
    spent = client.post("/api/wallet/spends", json=spend_body(alice, "5.00", "alices-order"), headers=alice.auth)
    assert spent.status_code == 201, spent.text
    return Alice(alice, [paid, pending, failed], spent.json())


def test_no_user_route_shows_another_users_payments_wallet_or_events(services: Services, app: Litestar) -> None:
    """Every GET under /api/payments, /api/wallet and /api/auth, with Bob's token and Alice's ids, over real HTTP
    (so that an event stream that wrongly opens times out instead of hanging the test)."""
    with served(services) as url, httpx.Client(base_url=url, timeout=5) as client:
        alice = alice_with_payments(client)
        bob = sign_in(client)
        admin = sign_in(client, ADMIN)  # an admin, on the user routes, is just another user
        routes = [r for prefix in ("/api/payments", "/api/wallet", "/api/auth") for r in api_routes(app, prefix)]
        for method, template in [(m, t) for m, t in routes if m == "GET"]:
            for payment in alice.payments:
                path = SPEND_ID.sub(alice.spend["spend_id"], PAYMENT_ID.sub(payment["payment_id"], template))
                for stranger in (bob, admin):
                    answer = client.get(path, headers=stranger.auth)
                    if PAYMENT_ID.search(template) or SPEND_ID.search(template):
                        assert_problem(answer, 404)
                        query = client.get(path, params={"token": stranger.token})
                        assert query.status_code in (401, 404), query.text  # token-in-URL routes too
                    else:
                        assert answer.status_code == 200, f"{method} {path}: {answer.text}"
                    leaked = [t for t in alice.traces if t in answer.text and t not in path]  # what Bob did not send
                    assert not leaked, f"{method} {path} shows {leaked}"
        mine = client.get(f"/api/payments/{alice.payments[0]['payment_id']}", headers=alice.person.auth)
        assert mine.status_code == 200  # the control: the owner sees it


def test_an_idempotency_key_is_per_user(client: Client) -> None:
    alice, bob = sign_in(client), sign_in(client)
    body = {"amount": "20.00", "currency": "USD", "gateway": "stripe"}

    theirs = client.post("/api/payments/initiate", json=body, headers={**alice.auth, "Idempotency-Key": "order-1"})
    mine = client.post("/api/payments/initiate", json=body, headers={**bob.auth, "Idempotency-Key": "order-1"})

    assert (theirs.status_code, mine.status_code) == (201, 201)
    assert mine.json()["payment_id"] != theirs.json()["payment_id"]
    assert [p["payment_id"] for p in client.get("/api/payments", headers=alice.auth).json()["items"]] == [
        theirs.json()["payment_id"]
    ]


def test_the_demo_checkout_does_not_exist_in_live_mode(sqlite_url: str) -> None:
    services = bootstrap(
        settings_for(
            sqlite_url,
            demo_payment=False,
            bank_name="B",
            bank_account_name="A",
            bank_account_number="1",
            bank_swift_code="S",
        )
    )
    with TestClient(app=create_app(services)) as client:
        alice = sign_in(client)
        payment = initiate(client, alice, "1000.00", "USD", "bank")
        for answer in (
            client.get(f"/demo/checkout/{payment['payment_id']}"),
            client.post(f"/demo/checkout/{payment['payment_id']}/pay", follow_redirects=False),
        ):
            problem = assert_problem(answer, 404)
            assert payment["reference"] not in json.dumps(problem)


# --- roles -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "role_key", "other_role_key"), [("/api/admin", ADMIN, AUDITOR), ("/api/audit", AUDITOR, ADMIN)]
)
def test_role_routes_refuse_anonymous_with_401_and_other_roles_with_403(
    client: Client, app: Litestar, prefix: str, role_key: SigningKey, other_role_key: SigningKey
) -> None:
    payment = initiate(client, sign_in(client), "1000.00", "USD", "bank")
    user, holder, other_role = sign_in(client), sign_in(client, role_key), sign_in(client, other_role_key)
    for method, template in api_routes(app, prefix):
        path = PAYMENT_ID.sub(payment["payment_id"], template)

        def call(headers: dict[str, str], path: str = path, method: str = method) -> httpx.Response:
            return client.request(method, path, headers=headers, json={} if method == "POST" else None)

        assert_problem(call({}), 401)
        assert_problem(call({"Authorization": "Bearer not-a-token"}), 401)
        assert_problem(call(user.auth), 403)
        assert_problem(call(other_role.auth), 403)
        assert call(holder.auth).status_code not in (401, 403), f"{method} {path}"
    assert client.get(f"/api/payments/{payment['payment_id']}", headers=user.auth).status_code == 404


# --- webhooks ----------------------------------------------------------------------------------------------------


def pending_stripe(client: Client, services: Services) -> tuple[dict[str, Any], SignedIn, bytes, dict[str, str]]:
    alice = sign_in(client)
    payment = initiate(client, alice, "10.00", "USD", "stripe")
    view = services.payments.payment(uuid.UUID(payment["payment_id"]))
    body, headers = services.simulators["stripe"].simulate(view, "pay")
    return payment, alice, body, headers


def stripe_forgeries(
    services: Services, body: bytes, headers: dict[str, str]
) -> dict[str, tuple[bytes, dict[str, str]]]:
    secret = webhook_secret(services.settings, "stripe")
    other_body = body.replace(b'"amount_total":1000', b'"amount_total":1')
    assert other_body != body
    return {
        "no signature": (body, {"Content-Type": "application/json"}),
        "empty signature": (body, {"Stripe-Signature": ""}),
        "empty body": (b"", {"Stripe-Signature": stripe_signature(b"", secret)}),
        "signature of another body": (other_body, headers),
        "signed with another secret": (body, {"Stripe-Signature": stripe_signature(body, "whsec_someone_else")}),
        "replayed 301 s later": (body, {"Stripe-Signature": stripe_signature(body, secret, int(time.time()) - 301)}),
    }


def test_stripe_webhooks_without_a_valid_fresh_signature_record_nothing(client: Client, services: Services) -> None:
    payment, alice, body, headers = pending_stripe(client, services)
    position = last_position(services.ledger)

    for name, (forged_body, forged_headers) in stripe_forgeries(services, body, headers).items():
        answer = client.post("/api/webhooks/stripe", content=forged_body, headers=forged_headers)
        assert answer.status_code == 400, f"{name}: {answer.status_code} {answer.text}"

    assert last_position(services.ledger) == position
    assert client.get(f"/api/payments/{payment['payment_id']}", headers=alice.auth).json()["status"] == "pending"
    assert client.post("/api/webhooks/stripe", content=body, headers=headers).json()["result"] == "confirmed"


def test_clickpesa_webhooks_without_a_valid_checksum_record_nothing(client: Client, services: Services) -> None:
    alice = sign_in(client)
    payment = initiate(client, alice, "10000", "TZS", "clickpesa")
    view = services.payments.payment(uuid.UUID(payment["payment_id"]))
    body, headers = services.simulators["clickpesa"].simulate(view, "pay")
    signed = json.loads(body)
    unsigned = {k: v for k, v in signed.items() if k not in ("checksum", "checksumMethod")}
    other = {**unsigned, "data": {**unsigned["data"], "collectedAmount": "1.00"}}
    forgeries = {
        "no checksum": unsigned,
        "empty checksum": {**unsigned, "checksum": ""},
        "checksum of another body": {**other, "checksum": signed["checksum"]},
        "checksum with another key": {**unsigned, "checksum": checksum_of(unsigned, "someone-elses-key")},
        "another checksum method": {**signed, "checksumMethod": "legacy"},
    }
    position = last_position(services.ledger)

    assert client.post("/api/webhooks/clickpesa", content=b"", headers=headers).status_code == 400
    for name, forged in forgeries.items():
        answer = client.post("/api/webhooks/clickpesa", content=json.dumps(forged).encode(), headers=headers)
        assert answer.status_code == 400, f"{name}: {answer.status_code} {answer.text}"

    assert last_position(services.ledger) == position
    assert client.get(f"/api/payments/{payment['payment_id']}", headers=alice.auth).json()["status"] == "pending"
    assert client.post("/api/webhooks/clickpesa", content=body, headers=headers).json()["result"] == "confirmed"


# --- sessions ----------------------------------------------------------------------------------------------------


def test_a_session_token_expires_on_the_services_clock(client: Client, clock: FakeClock) -> None:
    person = sign_in(client)
    clock.advance(timedelta(seconds=3599))
    assert client.get("/api/wallet", headers=person.auth).status_code == 200

    clock.advance(timedelta(seconds=2))

    for path in ("/api/auth/me", "/api/wallet", "/api/payments"):
        assert_problem(client.get(path, headers=person.auth), 401)


def test_signing_out_revokes_only_that_token_everywhere(client: Client) -> None:
    key = SigningKey.generate()
    first, second = sign_in(client, key), sign_in(client, key)
    payment = initiate(client, first, "10.00", "USD", "stripe")

    assert client.delete("/api/auth/session", headers=first.auth).status_code == 204

    assert_problem(client.get("/api/wallet", headers=first.auth), 401)
    assert_problem(client.delete("/api/auth/session", headers=first.auth), 401)
    events = client.get(f"/api/payments/{payment['payment_id']}/events", params={"token": first.token})
    assert_problem(events, 401)
    assert client.get("/api/wallet", headers=second.auth).status_code == 200


def test_tokens_not_issued_as_sessions_by_this_service_are_refused(client: Client) -> None:
    key = SigningKey.generate()
    challenge = client.post("/api/auth/challenge", json={"public_key": public(key)}).json()["challenge"]
    claims = {"typ": "session", "sub": public(key), "jti": "x", "exp": int(time.time()) + 3600}
    forged = [
        challenge,  # a challenge is not a session
        jwt.encode(claims, "another-secret-of-at-least-32-characters!", algorithm="HS256"),
        jwt.encode(claims, None, algorithm="none"),
    ]
    for token in forged:
        assert_problem(client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}), 401)


# --- sign-in rate limits -------------------------------------------------------------------------------------------


@pytest.fixture
def limited(sqlite_url: str) -> Iterator[Client]:
    settings = settings_for(sqlite_url, auth_rate_limit_per_key=3, auth_rate_limit_per_address=5)
    with TestClient(app=create_app(bootstrap(settings))) as test_client:
        yield test_client


def assert_rate_limited(answer: httpx.Response, scope: str) -> None:
    problem = assert_problem(answer, 429)
    assert problem["type"] == "/problems/rate-limited"
    assert scope in problem["detail"]
    assert 1 <= int(answer.headers["retry-after"]) <= 60


def test_challenges_are_limited_per_public_key(limited: Client) -> None:
    key = public(SigningKey.generate())
    for _ in range(3):
        assert limited.post("/api/auth/challenge", json={"public_key": key}).status_code == 200

    assert_rate_limited(limited.post("/api/auth/challenge", json={"public_key": key}), "public key")
    assert limited.post("/api/auth/challenge", json={"public_key": public(SigningKey.generate())}).status_code == 200


def test_sign_in_requests_are_limited_per_client_address_whatever_the_body(limited: Client) -> None:
    for _ in range(5):
        limited.post("/api/auth/challenge", json={"public_key": public(SigningKey.generate())})

    assert_rate_limited(
        limited.post("/api/auth/challenge", json={"public_key": public(SigningKey.generate())}), "address"
    )
    assert_rate_limited(limited.post("/api/auth/challenge", content=b"not json"), "address")
    assert limited.get("/api/payments/gateways").status_code == 200  # other routes are not limited


def test_answering_challenges_is_limited_per_public_key_too(limited: Client) -> None:
    key = SigningKey.generate()
    challenge = limited.post("/api/auth/challenge", json={"public_key": public(key)}).json()["challenge"]
    wrong = {"public_key": public(key), "challenge": challenge, "signature": "00" * 64}
    for _ in range(3):
        assert_problem(limited.post("/api/auth/session", json=wrong), 401)

    right = {**wrong, "signature": key.sign(challenge.encode()).signature.hex()}
    assert_rate_limited(limited.post("/api/auth/session", json=right), "public key")


def test_default_limits_let_a_browser_test_run_sign_in_again_and_again(client: Client) -> None:
    key = SigningKey.generate()
    for _ in range(25):
        sign_in(client, key)


# --- secrets --------------------------------------------------------------------------------------------------------


def test_every_authenticated_route_is_covered_by_the_sweeps_above(app: Litestar) -> None:
    swept = ("/api/payments", "/api/wallet", "/api/auth", "/api/admin", "/api/audit")
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format.startswith("/schema"):
            continue
        for handler in route.route_handlers:
            if handler.http_methods != {"OPTIONS"} and not handler.opt.get("exclude_from_auth"):
                assert route.path_format.startswith(swept), f"{route.path_format} needs a place in these tests"


# --- secrets ---------------------------------------------------------------------------------------------------------

LIVE_SECRETS = {
    "SESSION_SECRET": "sess-Zq8Lw3Xr7Tn2Vb6Hd9Kf4Mp1Sy5Gc0Je",
    "STRIPE_SECRET_KEY": "sk_test_StripeKeyQx7Rv2Lm9Wd4Hs8Nt",
    "STRIPE_WEBHOOK_SECRET": "whsec_StripeHookYb3Kq6Pz1Vf8Gm5Jr",
    "CLICKPESA_API_SECRET": "CPapiKeyTe4Wn9Xc2Ls7Qa1Hb6",
    "CLICKPESA_WEBHOOK_SECRET": "CPchecksumKeyUd5Ro8Iv3Ek0Zy",
    "LEDGER_SIGNING_KEY": "5eed" * 16,
}


class Transcript:
    """Everything that left the app during a test: answers (bodies and headers), log records, printed output."""

    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []

    def record(self, client: Client) -> None:
        client.event_hooks["response"] = [self.responses.append]

    def text(self) -> str:
        return "\n".join(
            f"{r.status_code} {dict(r.headers)} {r.read().decode(errors='replace')}" for r in self.responses
        )


def assert_nowhere(secrets: dict[str, str], places: dict[str, str]) -> None:
    found = [(name, place) for name, value in secrets.items() for place, text in places.items() if value in text]
    assert not found, f"secrets found: {found}"


def store_bytes(database_url: str) -> str:
    path = Path(database_url.removeprefix("sqlite:///"))
    files = [path, *path.parent.glob(path.name + "-*")]
    return "\n".join(file.read_bytes().decode("latin-1") for file in files if file.is_file())


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Every log record at DEBUG, and the same through the production JSON formatter."""
    caplog.set_level(logging.DEBUG)
    output = io.StringIO()
    yield output
    reset_logging()


def error_zoo(client: Client, person: SignedIn) -> None:
    """Requests that answer problem+json, each for another reason."""
    auth = person.auth
    client.get("/api/wallet", headers={"Authorization": "Bearer garbage"})
    client.get(f"/api/payments/{uuid.uuid4()}", headers=auth)
    client.post("/api/payments/initiate", json={"amount": "0.01", "currency": "USD", "gateway": "stripe"}, headers=auth)
    client.post("/api/payments/initiate", content=b"{", headers={**auth, "Content-Type": "application/json"})
    client.post(
        "/api/payments/initiate", json={"amount": "1", "currency": "USD", "gateway": "x" * 70_000}, headers=auth
    )
    body = {"amount": "5.00", "currency": "USD", "gateway": "bank"}
    client.post("/api/payments/initiate", json=body, headers={**auth, "Idempotency-Key": "k"})
    client.get("/api/audit/export", headers=auth)
    client.post(f"/api/admin/payments/{uuid.uuid4()}/confirm", json={}, headers=auth)
    client.post("/api/auth/session", json={"public_key": person.user_id, "challenge": "x", "signature": "00" * 64})


def exports(client: Client, auditor: SignedIn) -> str:
    parts = [client.get(path, headers=auditor.auth) for path in ("/api/audit/export", "/api/audit/ledger?limit=10000")]
    assert all(part.status_code == 200 for part in parts), [part.text for part in parts]
    assert parts[0].text.strip().splitlines()[-1].startswith('{"count"') or "ExportSignature" in parts[0].text
    return "\n".join(part.text for part in parts) + client.get("/api/audit/balances", headers=auditor.auth).text


def test_no_secret_leaves_a_demo_deployment(
    sqlite_url: str, captured_logs: io.StringIO, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(
        sqlite_url,
        session_secret=LIVE_SECRETS["SESSION_SECRET"],
        ledger_signing_key=LIVE_SECRETS["LEDGER_SIGNING_KEY"],
        log_format="json",
        log_level="DEBUG",
    )
    secrets = {
        "SESSION_SECRET": settings.session_secret,
        "LEDGER_SIGNING_KEY": settings.ledger_signing_key,
        "demo stripe webhook secret": settings.demo_secret("stripe-webhook"),
        "demo clickpesa webhook secret": settings.demo_secret("clickpesa-webhook"),
    }
    configure_logging(settings, captured_logs)
    transcript = Transcript()
    services = bootstrap(settings, metrics=PrometheusMetrics())
    with TestClient(app=create_app(services)) as client:
        transcript.record(client)
        alice = alice_with_payments(client)
        _, _, body, headers = pending_stripe(client, services)
        client.post("/api/webhooks/stripe", content=body, headers={"Stripe-Signature": "t=1,v1=" + "0" * 64})
        client.post("/api/webhooks/stripe", content=body, headers=headers)
        error_zoo(client, alice.person)
        services.reconciler.run_once()
        ledger = exports(client, sign_in(client, AUDITOR))
        metrics = client.get("/metrics").text
    printed = capsys.readouterr()

    assert_nowhere(
        secrets,
        outputs(transcript, caplog, captured_logs, printed.out + printed.err, ledger, store_bytes(sqlite_url), metrics),
    )
    logged = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    assert any(line.get("logger") == "mcpay.access" for line in logged)  # the logs were on
    assert sum(r.headers.get("content-type", "").startswith("application/problem") for r in transcript.responses) >= 10


def test_no_secret_leaves_a_live_deployment_with_stripe_and_clickpesa(
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    captured_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(clickpesa_fake, "API_KEY", LIVE_SECRETS["CLICKPESA_API_SECRET"])
    with (
        running_fake_stripe() as stripe,
        clickpesa_fake.running(
            clickpesa_fake.FakeClickPesa(checksum_key=LIVE_SECRETS["CLICKPESA_WEBHOOK_SECRET"])
        ) as clickpesa,
    ):
        stripe.api_key = LIVE_SECRETS["STRIPE_SECRET_KEY"]
        settings = settings_for(
            sqlite_url,
            demo_payment=False,
            session_secret=LIVE_SECRETS["SESSION_SECRET"],
            ledger_signing_key=LIVE_SECRETS["LEDGER_SIGNING_KEY"],
            stripe_secret_key=LIVE_SECRETS["STRIPE_SECRET_KEY"],
            stripe_webhook_secrets=(LIVE_SECRETS["STRIPE_WEBHOOK_SECRET"],),
            stripe_api_base=stripe.url,
            clickpesa_client_id=clickpesa_fake.CLIENT_ID,
            clickpesa_api_secret=LIVE_SECRETS["CLICKPESA_API_SECRET"],
            clickpesa_webhook_secret=LIVE_SECRETS["CLICKPESA_WEBHOOK_SECRET"],
            clickpesa_api_base=clickpesa.url,
            reconcile_min_age_seconds=0,
            log_format="json",
            log_level="DEBUG",
        )
        configure_logging(settings, captured_logs)
        transcript = Transcript()
        services = bootstrap(settings, metrics=PrometheusMetrics())
        with TestClient(app=create_app(services)) as client:
            transcript.record(client)
            live_flows(client, stripe, clickpesa)
            services.reconciler.run_once()
            ledger = exports(client, sign_in(client, AUDITOR))
            metrics = client.get("/metrics").text
    printed = capsys.readouterr()

    assert_nowhere(
        LIVE_SECRETS,
        outputs(transcript, caplog, captured_logs, printed.out + printed.err, ledger, store_bytes(sqlite_url), metrics),
    )
    assert "api.stripe" not in captured_logs.getvalue()  # the fakes, not the real gateways, were asked
    assert {"stripe", "httpx", "mcpay.access"} <= {record.name for record in caplog.records}  # the logs were on
    assert sum(r.headers.get("content-type", "").startswith("application/problem") for r in transcript.responses) >= 15


def outputs(
    transcript: Transcript,
    caplog: pytest.LogCaptureFixture,
    captured_logs: io.StringIO,
    printed: str,
    ledger: str,
    event_store: str,
    metrics: str,
) -> dict[str, str]:
    """Everywhere a secret could leak to: answers, logs, console, ledger, stored events, metrics."""
    return {
        "answers": transcript.text(),
        "log records": caplog.text + "".join(str(record.__dict__) for record in caplog.records),
        "formatted logs": captured_logs.getvalue(),
        "printed": printed,
        "ledger export": ledger,
        "event store": event_store,
        "metrics": metrics,
    }


def live_flows(client: Client, stripe: FakeStripe, clickpesa: clickpesa_fake.FakeClickPesa) -> None:
    """Paid, refunded, forged, refused and unreachable, through each live gateway; then the usual errors."""
    alice = sign_in(client)
    hook_secret = LIVE_SECRETS["STRIPE_WEBHOOK_SECRET"]

    def deliver(kind: str, obj: dict[str, Any], secret: str = hook_secret) -> httpx.Response:
        body = json.dumps(stripe_event(kind, obj)).encode()
        return client.post(
            "/api/webhooks/stripe", content=body, headers={"Stripe-Signature": stripe_signature(body, secret)}
        )

    paid = initiate(client, alice, "25.00", "USD", "stripe")
    session = next(s for s in stripe.sessions.values() if s["client_reference_id"] == paid["reference"])
    session = stripe.complete(session["id"])
    assert deliver("checkout.session.completed", session).json()["result"] == "confirmed"
    assert deliver("charge.refunded", charge(session, stripe.charge_of(session), 1000)).json()["result"] == "refunded"
    assert deliver("checkout.session.completed", session, "whsec_forged0").status_code == 400
    stripe.fail_next(Failure(500), times=3)
    assert (
        client.post(
            "/api/payments/initiate",
            json={"amount": "9.00", "currency": "USD", "gateway": "stripe"},
            headers=alice.auth,
        ).status_code
        == 503
    )
    stripe.fail_next(Failure(400, "invalid_request_error", "Invalid currency"))
    assert (
        client.post(
            "/api/payments/initiate",
            json={"amount": "8.00", "currency": "USD", "gateway": "stripe"},
            headers=alice.auth,
        ).status_code
        == 502
    )
    initiate(client, alice, "7.00", "USD", "stripe")  # left pending: reconciliation asks about it

    mobile = initiate(client, alice, "10000", "TZS", "clickpesa")
    record = clickpesa.record_payment(mobile["reference"])
    signed = clickpesa_fake.signed_webhook(
        {"event": "PAYMENT RECEIVED", "data": record}, LIVE_SECRETS["CLICKPESA_WEBHOOK_SECRET"]
    )
    assert client.post("/api/webhooks/clickpesa", content=signed).json()["result"] == "confirmed"
    forged = clickpesa_fake.signed_webhook({"event": "PAYMENT RECEIVED", "data": record}, "not-the-key-at-all")
    assert client.post("/api/webhooks/clickpesa", content=forged).status_code == 400
    clickpesa.checkout_error = (403, {"message": "Invalid or Expired API-Key"})
    assert (
        client.post(
            "/api/payments/initiate",
            json={"amount": "9000", "currency": "TZS", "gateway": "clickpesa"},
            headers=alice.auth,
        ).status_code
        == 502
    )
    clickpesa.checkout_error = None
    clickpesa.down = True
    assert (
        client.post(
            "/api/payments/initiate",
            json={"amount": "8000", "currency": "TZS", "gateway": "clickpesa"},
            headers=alice.auth,
        ).status_code
        == 503
    )
    clickpesa.down = False
    initiate(client, alice, "7000", "TZS", "clickpesa")  # left pending: reconciliation asks about it
    error_zoo(client, alice)
