"""Demo mode without SESSION_SECRET: a random secret kept beside the SQLite file, never one derived from settings."""

from __future__ import annotations

import hashlib
import stat
import time
from pathlib import Path

import httpx
import jwt
import pytest
from nacl.signing import SigningKey

from entrypoints.bootstrap import webhook_secret
from entrypoints.cli import main
from entrypoints.settings import load_settings
from tests.integration.serve_processes import Served, serve_env
from tests.integration.support import sign_in
from tests.processes import free_port

pytestmark = pytest.mark.integration

ADMIN = SigningKey.generate()
ADMIN_KEY = ADMIN.verify_key.encode().hex()


def demo_env(database_url: str) -> dict[str, str]:
    """`mcpay serve` in demo mode with an admin key and no SESSION_SECRET at all."""
    env = serve_env(database_url, free_port(), "http://127.0.0.1:9", DEMO_PAYMENT="true", ADMIN_PUBLIC_KEYS=ADMIN_KEY)
    del env["SESSION_SECRET"]
    return env


def forged_admin_token(secret: str) -> str:
    claims = {"typ": "session", "sub": ADMIN_KEY, "jti": "forged", "exp": int(time.time()) + 3600}
    return jwt.encode(claims, secret, algorithm="HS256")


def me(base_url: str, token: str) -> httpx.Response:
    return httpx.get(f"{base_url}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_the_secret_is_made_once_beside_the_sqlite_file_and_sessions_survive_a_restart(tmp_path: Path) -> None:
    database = tmp_path / "mcpay.sqlite3"
    server = Served(demo_env(f"sqlite:///{database}"), tmp_path / "serve.log")
    kept = tmp_path / "mcpay.sqlite3.session-secret"
    try:
        server.start()
        server.wait_ready()
        with httpx.Client(base_url=server.url, timeout=10) as client:
            token = sign_in(client, ADMIN).token
        assert me(server.url, token).json()["roles"] == ["user", "admin"]
        secret = kept.read_text().strip()
        assert len(secret) == 64 and int(secret, 16) >= 0
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        server.stop()

        server.start()
        server.wait_ready()
        assert me(server.url, token).status_code == 200  # the same secret signs and checks sessions again
        assert kept.read_text().strip() == secret
    finally:
        server.stop()


def test_an_admin_token_forged_with_the_secret_once_derived_from_database_url_is_refused(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'mcpay.sqlite3'}"
    server = Served(demo_env(database_url), tmp_path / "serve.log")
    once_derived = hashlib.sha256(f"mcpay-demo-session:{database_url}".encode()).hexdigest()
    try:
        server.start()
        server.wait_ready()
        forged = forged_admin_token(once_derived)
        refused = me(server.url, forged)
        assert refused.status_code == 401, refused.text
        desk = httpx.get(f"{server.url}/api/admin/payments", headers={"Authorization": f"Bearer {forged}"})
        assert desk.status_code == 401
    finally:
        server.stop()


def test_the_demo_webhook_secrets_and_ledger_key_stay_those_of_the_sqlite_file(tmp_path: Path) -> None:
    first = load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}"})
    again = load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}"})
    other = load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}"})
    for gateway in ("stripe", "clickpesa"):
        assert webhook_secret(first, gateway) == webhook_secret(again, gateway) != webhook_secret(other, gateway)
    assert first.effective_ledger_signing_key == again.effective_ledger_signing_key
    assert first.effective_ledger_signing_key != other.effective_ledger_signing_key


def test_serving_on_postgresql_without_session_secret_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SESSION_SECRET", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:9/never-reached")
    monkeypatch.setenv("ADMIN_PUBLIC_KEYS", ADMIN_KEY)

    assert main(["serve"]) == 2

    assert "SESSION_SECRET must be set on PostgreSQL" in capsys.readouterr().err
