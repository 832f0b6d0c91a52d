"""The operator's small commands: the version, a keypair for the shell, the ledger's public key."""

from __future__ import annotations

import json
import os
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from entrypoints.cli import main
from tests.integration.read_side_support import populate, read_side_services
from tests.integration.serve_processes import MCPAY

pytestmark = pytest.mark.integration


def test_version_names_the_installed_release(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])

    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"mcpay {version('mcpay')}"


@pytest.mark.parametrize("prefix", ["", "ADMIN_"])
def test_keygen_for_the_shell_sets_a_matching_keypair(prefix: str) -> None:
    script = f'eval "$("{MCPAY}" keygen --shell --prefix "{prefix}")"; echo "${prefix}PRIVATE_KEY ${prefix}PUBLIC_KEY"'
    shown = subprocess.run(  # noqa: S603 - bash running the project's own console script
        ["/bin/bash", "-c", script], capture_output=True, text=True, check=True, timeout=30
    ).stdout.split()

    private, public = shown
    assert SigningKey(bytes.fromhex(private)).verify_key.encode().hex() == public


def test_keygen_refuses_a_prefix_the_shell_could_not_take(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", "--shell", "--prefix", "x; rm -rf /"]) == 2
    assert capsys.readouterr().out == ""


def test_the_ledger_public_key_is_the_one_exports_are_signed_with(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    services = read_side_services(sqlite_url)
    populate(services)
    services.close()
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    for setting in [name for name in os.environ if name.startswith(("LEDGER_", "DEMO_"))]:
        monkeypatch.delenv(setting)

    assert main(["ledger", "public-key"]) == 0
    printed = capsys.readouterr().out.strip()
    assert main(["ledger", "export", "--out", str(tmp_path / "ledger.ndjson"), "--no-progress"]) == 0

    last = (tmp_path / "ledger.ndjson").read_text().splitlines()[-1]
    assert json.loads(last)["public_key"] == printed


def test_the_ledger_public_key_follows_ledger_signing_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = SigningKey.generate()
    monkeypatch.setenv("LEDGER_SIGNING_KEY", seed.encode().hex())

    assert main(["ledger", "public-key"]) == 0
    assert capsys.readouterr().out.strip() == seed.verify_key.encode().hex()


def test_without_a_ledger_key_in_live_mode_it_says_which_setting_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LEDGER_SIGNING_KEY", raising=False)
    monkeypatch.setenv("DEMO_PAYMENT", "false")
    monkeypatch.setenv("SESSION_SECRET", "s" * 40)

    assert main(["ledger", "public-key"]) == 2
    assert "LEDGER_SIGNING_KEY" in capsys.readouterr().err
