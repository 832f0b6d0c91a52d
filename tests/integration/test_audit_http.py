"""/api/audit over HTTP: only auditors; ledger pages, the signed export and balances as of a time."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from nacl.signing import SigningKey, VerifyKey

from application.audit.chain import rfc3339
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.cli import main
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.audit_support import ALICE, CAROL, CAROL_KEY, pay, refund, spend
from tests.integration.support import SESSION_SECRET, sign_in

pytestmark = pytest.mark.integration

AUDITOR = SigningKey(b"\x0a" * 32)
USER = SigningKey(b"\x0b" * 32)
ROUTES = ["/api/audit/ledger", "/api/audit/export", "/api/audit/balances"]


def public(key: SigningKey) -> str:
    return key.verify_key.encode().hex()


@pytest.fixture
def audited(database_url: str) -> Iterator[Services]:
    settings = Settings(
        database_url=database_url, session_secret=SESSION_SECRET, auditor_public_keys=frozenset({public(AUDITOR)})
    )
    built = bootstrap(settings)
    yield built
    built.close()


@pytest.fixture
def client(audited: Services) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(audited)) as test_client:
        yield test_client


@pytest.mark.parametrize("route", ROUTES)
def test_audit_routes_need_a_token(client: TestClient[Any], route: str) -> None:
    answer = client.get(route)

    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("route", ROUTES)
def test_audit_routes_refuse_a_user_who_is_not_an_auditor(client: TestClient[Any], route: str) -> None:
    answer = client.get(route, headers=sign_in(client, USER).auth)

    assert answer.status_code == 403
    assert answer.json()["detail"] == "this needs the auditor role"


def test_an_auditor_exports_the_signed_ledger_and_it_verifies_offline(
    client: TestClient[Any], audited: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payment = pay(audited.payments, ALICE, "25.00")
    refund(audited.payments, payment, "10.00")

    answer = client.get("/api/audit/export", headers=sign_in(client, AUDITOR).auth)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    lines = answer.text.splitlines(keepends=True)
    signature = json.loads(lines[-1])
    assert signature["type"] == "ExportSignature"
    assert signature["count"] == len(lines) - 1
    assert signature["public_key"] == audited.audit.public_key
    assert _chain_as_api_md_states_it(lines[:-1]) == signature["head_hash"]
    VerifyKey(bytes.fromhex(signature["public_key"])).verify(
        signature["head_hash"].encode(), bytes.fromhex(signature["signature"])
    )
    export = tmp_path / "export.ndjson"
    export.write_text(answer.text, encoding="utf-8")
    assert main(["ledger", "verify", str(export), "--public-key", signature["public_key"]]) == 0
    assert f"{ALICE}           15.00" in capsys.readouterr().out


def test_ledger_pages_are_the_export_lines_chained_from_the_position_before(
    client: TestClient[Any], audited: Services
) -> None:
    pay(audited.payments, ALICE, "25.00")
    pay(audited.payments, ALICE, "5.00")
    auditor = sign_in(client, AUDITOR).auth
    export = client.get("/api/audit/export", headers=auditor).text.splitlines(keepends=True)

    first_page = client.get("/api/audit/ledger", params={"limit": 4}, headers=auditor)
    position = json.loads(first_page.text.splitlines()[-1])["position"]
    second_page = client.get("/api/audit/ledger", params={"after": position, "limit": 3}, headers=auditor)
    rest = client.get("/api/audit/ledger", params={"after": position + 3}, headers=auditor)

    assert first_page.headers["content-type"].startswith("application/x-ndjson")
    assert first_page.text + second_page.text + rest.text == "".join(export[:-1])
    assert client.get("/api/audit/ledger", params={"limit": 0}, headers=auditor).status_code == 400


def test_balances_as_they_stood_before_and_after_a_reversal(client: TestClient[Any], audited: Services) -> None:
    payment = pay(audited.payments, ALICE, "25.00")
    credited = _wallet_changed(audited)
    refund(audited.payments, payment, "25.00")
    reversed_ = _wallet_changed(audited)
    auditor = sign_in(client, AUDITOR).auth

    before = client.get("/api/audit/balances", params={"as_of": rfc3339(credited)}, headers=auditor)
    after = client.get("/api/audit/balances", params={"as_of": rfc3339(reversed_)}, headers=auditor)
    now = client.get("/api/audit/balances", headers=auditor)

    assert before.status_code == 200
    assert before.json() == {
        "as_of": credited.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "balances": {ALICE: "25.00"},
        "payees": {},
        "gateways": {"stripe": "-25.00"},
    }
    assert after.json()["balances"] == {ALICE: "0.00"}
    assert after.json()["gateways"] == {"stripe": "0.00"}
    assert now.json()["balances"] == {ALICE: "0.00"}
    assert client.get("/api/audit/balances", params={"as_of": "2026-01-01"}, headers=auditor).status_code == 422
    assert client.get("/api/audit/balances", params={"as_of": "soon"}, headers=auditor).status_code == 422


def test_spends_travel_signed_in_the_export_and_move_balances_to_their_payees(
    client: TestClient[Any], audited: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payment = pay(audited.payments, CAROL, "25.00")
    order = spend(audited.ledger, CAROL_KEY, "20.00", "shop.example", "order-7")
    refund(audited.payments, payment, "25.00")  # after the spend: Carol owes 20
    auditor = sign_in(client, AUDITOR).auth

    export = client.get("/api/audit/export", headers=auditor).text
    page = client.get("/api/audit/ledger", headers=auditor).text
    balances = client.get("/api/audit/balances", headers=auditor).json()

    spent = [json.loads(line) for line in export.splitlines() if '"CreditsSpent"' in line]
    assert [line["data"]["message"] for line in spent] == [order.message().decode()]
    assert spent[0]["data"]["signature"] == CAROL_KEY.sign(order.message()).signature.hex()
    assert spent[0]["data"]["spend_id"] == str(order.spend_id)
    assert json.dumps(spent[0], sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n" in page
    assert balances["balances"] == {CAROL: "-20.00"}
    assert (balances["payees"], balances["gateways"]) == ({"shop.example": "20.00"}, {"stripe": "0.00"})
    (tmp_path / "export.ndjson").write_text(export, encoding="utf-8")
    public_key = json.loads(export.splitlines()[-1])["public_key"]
    assert main(["ledger", "verify", str(tmp_path / "export.ndjson"), "--public-key", public_key]) == 0
    printed = capsys.readouterr().out
    assert f"{CAROL}          -20.00" in printed
    assert "payee shop.example" in printed


def test_a_live_service_without_a_signing_key_refuses_to_export(sqlite_url: str) -> None:
    settings = Settings(
        database_url=sqlite_url,
        demo_payment=False,
        session_secret=SESSION_SECRET,
        auditor_public_keys=frozenset({public(AUDITOR)}),
    )
    services = bootstrap(settings, gateways={})
    with TestClient(create_app(services)) as client:
        answer = client.get("/api/audit/export", headers=sign_in(client, AUDITOR).auth)

    assert answer.status_code == 503
    assert answer.json()["detail"] == "LEDGER_SIGNING_KEY is not set: exports and checkpoints must be signed"


def _chain_as_api_md_states_it(lines: list[str]) -> str:
    """An outside auditor's check, from API.md alone: each hash, each link; answers the head hash."""
    prev = "0" * 64
    for text in lines:
        line = json.loads(text)
        claimed = line.pop("hash")
        assert line["prev_hash"] == prev
        canonical = json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        prev = hashlib.sha256(prev.encode("utf-8") + canonical.encode("utf-8")).hexdigest()
        assert prev == claimed
    return prev


def _wallet_changed(services: Services) -> datetime:
    wallet = services.ledger.wallet_of(ALICE)
    assert wallet is not None
    return wallet.modified_on


def test_the_service_records_checkpoints_in_the_background(sqlite_url: str) -> None:
    settings = Settings(
        database_url=sqlite_url,
        session_secret=SESSION_SECRET,
        reconcile_interval_seconds=0,
        checkpoint_interval_seconds=1,
    )
    services = bootstrap(settings)
    pay(services.payments, ALICE, "3.00")
    with TestClient(create_app(services)):
        deadline = time.monotonic() + 10
        while services.ledger.checkpoints() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        checkpoints = services.ledger.checkpoints()

        assert checkpoints is not None
        assert checkpoints.head_hash == services.audit.hash_at(checkpoints.position)
