"""`mcpay ledger export | verify | checkpoint | replay --as-of` as an operator and an auditor run them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from application.audit.chain import canonical_json, rfc3339
from entrypoints.bootstrap import bootstrap
from entrypoints.cli import main
from entrypoints.settings import Settings
from tests.audit_support import ALICE, CAROL, CAROL_KEY, SERVICE_KEY, first, parsed, pay, rechain, refund, spend
from tests.integration.support import SESSION_SECRET

pytestmark = pytest.mark.integration

SIGNING_SEED = "5e" * 32  # SERVICE_KEY's seed


@pytest.fixture
def environment(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment `mcpay` reads its settings from: a SQLite store in demo mode."""
    for name in ("LEDGER_SIGNING_KEY", "DEMO_PAYMENT", "CHECKPOINT_INTERVAL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SESSION_SECRET", SESSION_SECRET)
    return sqlite_url


@pytest.fixture
def recorded(environment: str) -> None:
    """Alice bought 25 MC and got 5 USD of it refunded."""
    services = bootstrap(Settings(database_url=environment, session_secret=SESSION_SECRET))
    payment = pay(services.payments, ALICE, "25.00")
    refund(services.payments, payment, "5.00")
    services.close()


def export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    out = tmp_path / "ledger.ndjson"
    assert main(["ledger", "export", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    public_key = printed.out.split("public_key=")[1].split()[0]
    return out, public_key + "\n" + printed.err


def test_export_then_verify_offline_prints_every_balance(
    recorded: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, printed = export(tmp_path, capsys)
    public_key = printed.splitlines()[0]
    assert f"verify with --public-key {public_key}" in printed  # demo mode says which key signed
    monkeypatch.setenv("DATABASE_URL", "nonsense://not-a-store")  # verify reads no settings and no database
    monkeypatch.setenv("PORT", "not-a-port")

    assert main(["ledger", "verify", str(out), "--public-key", public_key]) == 0

    output = capsys.readouterr().out
    assert f"{ALICE}           20.00" in output
    assert "1 wallets, 20.00 MC in all" in output
    assert "verified: " in output


def test_verify_exits_non_zero_naming_the_first_problem(
    recorded: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, printed = export(tmp_path, capsys)
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    tampered = json.loads(lines[1])
    tampered["data"]["evidence"] = {"forged": "yes"}
    out.write_text("".join([lines[0], canonical_json(tampered) + "\n", *lines[2:]]), encoding="utf-8")

    assert main(["ledger", "verify", str(out), "--public-key", printed.splitlines()[0]]) == 1

    captured = capsys.readouterr()
    assert "FAILED: line 2: hash does not match the line's content: the line was altered" in captured.out
    assert "line 2: hash does not match" in captured.err


def test_verify_refuses_a_line_with_a_duplicated_key_though_its_hash_fits(
    recorded: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, printed = export(tmp_path, capsys)
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    [number] = [n for n, line in enumerate(lines, 1) if '"type":"CreditsToppedUp"' in line]
    genuine = lines[number - 1]
    # A reader that keeps the first of two equal keys sees 2500 MC credited; the chain, over the parsed line, fits.
    forged = genuine.replace('"data":{"amount":', '"data":{"amount":"2500.00","amount":', 1)
    assert json.loads(forged) == json.loads(genuine)
    out.write_text("".join([*lines[: number - 1], forged, *lines[number:]]), encoding="utf-8")

    assert main(["ledger", "verify", str(out), "--public-key", printed.splitlines()[0], "--no-progress"]) == 1

    captured = capsys.readouterr()
    assert f"FAILED: line {number}: is not byte for byte its canonical JSON" in captured.out
    assert "verified:" not in captured.out


def test_verify_refuses_a_malformed_key_or_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "verify", str(tmp_path / "none.ndjson"), "--public-key", "00" * 32]) == 2
    assert main(["ledger", "verify", str(tmp_path / "none.ndjson"), "--public-key", "xyz"]) == 2
    assert "64 hex digits" in capsys.readouterr().err


def test_a_configured_signing_key_signs_the_export(
    recorded: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_SIGNING_KEY", SIGNING_SEED)

    _, printed = export(tmp_path, capsys)

    assert printed.splitlines() == [SERVICE_KEY.public_key]  # and no demo-key notice


def test_a_live_export_without_a_signing_key_is_a_clear_error(
    environment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_PAYMENT", "false")
    out = tmp_path / "ledger.ndjson"

    assert main(["ledger", "export", "--out", str(out)]) == 2

    assert "LEDGER_SIGNING_KEY is not set" in capsys.readouterr().err
    assert not out.exists()
    assert not (tmp_path / "ledger.ndjson.partial").exists()


def test_checkpoint_on_demand_and_verified_in_the_next_export(
    recorded: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ledger", "checkpoint"]) == 0
    assert "checkpoint at position " in capsys.readouterr().out
    assert main(["ledger", "checkpoint"]) == 0
    assert capsys.readouterr().out == "nothing new since the last checkpoint\n"

    out, printed = export(tmp_path, capsys)
    assert main(["ledger", "verify", str(out), "--public-key", printed.splitlines()[0]]) == 0
    assert "1 checkpoints" in capsys.readouterr().out


def test_replay_as_of_prints_the_balances_as_they_stood_then(
    environment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    services = bootstrap(Settings(database_url=environment, session_secret=SESSION_SECRET))
    payment = pay(services.payments, ALICE, "25.00")
    wallet = services.ledger.wallet_of(ALICE)
    assert wallet is not None
    credited = wallet.modified_on
    refund(services.payments, payment, "25.00")
    services.close()

    assert main(["ledger", "replay", "--as-of", rfc3339(credited)]) == 0
    assert f"{ALICE}           25.00" in capsys.readouterr().out
    assert main(["ledger", "replay"]) == 0
    assert f"{ALICE}            0.00            0.00" in capsys.readouterr().out
    assert main(["ledger", "replay", "--as-of", "last week"]) == 2


def test_replay_and_verify_show_the_payees_and_gateway_accounts_beside_the_wallets(
    environment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    services = bootstrap(Settings(database_url=environment, session_secret=SESSION_SECRET))
    payment = pay(services.payments, CAROL, "25.00")
    spend(services.ledger, CAROL_KEY, "20.00", "shop.example", "order-7")
    refund(services.payments, payment, "25.00")
    services.close()

    assert main(["ledger", "replay"]) == 0
    replayed = capsys.readouterr().out
    out, printed = export(tmp_path, capsys)
    assert main(["ledger", "verify", str(out), "--public-key", printed.splitlines()[0]]) == 0
    verified = capsys.readouterr().out

    for output in (replayed, verified):
        assert f"{'payee shop.example':64}  {'20.00':>14}" in output
        assert f"{'gateway stripe':64}  {'0.00':>14}" in output
        assert "1 payees, 20.00 MC in all; 1 gateway accounts, 0.00 MC in all" in output
    assert f"{CAROL}          -20.00          -20.00" in replayed
    assert f"{CAROL}          -20.00" in verified


def test_verify_names_the_line_of_a_spend_forged_into_an_export_re_signed_with_the_ledger_key(
    environment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    services = bootstrap(Settings(database_url=environment, session_secret=SESSION_SECRET))
    pay(services.payments, CAROL, "25.00")
    spend(services.ledger, CAROL_KEY, "20.00", "shop.example", "order-7")
    services.close()
    out, _ = export(tmp_path, capsys)
    lines = parsed(out.read_text(encoding="utf-8").splitlines())
    at = first(lines, "CreditsSpent")
    lines[at]["data"]["payee"] = "thief"  # and the signed message to match: only the owner's signature is left
    lines[at]["data"]["message"] = lines[at]["data"]["message"].replace('"shop.example"', '"thief"')
    out.write_text("".join(rechain(lines, SERVICE_KEY)), encoding="utf-8")

    assert main(["ledger", "verify", str(out), "--public-key", SERVICE_KEY.public_key]) == 1

    assert (
        f"FAILED: line {at + 1}: the spend's signature does not verify with the key of its wallet's owner {CAROL}"
        in capsys.readouterr().out
    )
