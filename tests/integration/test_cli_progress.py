"""The long commands draw a progress bar on a terminal (a pseudo-terminal here) and none when piped."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest

from tests.integration.read_side_support import populate, read_side_services
from tests.integration.serve_processes import MCPAY
from tests.integration.support import SESSION_SECRET

pytestmark = pytest.mark.integration

COMMANDS = {
    "replaying": ["ledger", "replay"],
    "exporting": ["ledger", "export", "--out", "{tmp}/ledger.ndjson"],
    "projecting": ["projections", "rebuild"],
    "reconciling": ["reconcile"],
}


@pytest.fixture
def populated(sqlite_url: str) -> dict[str, str]:
    services = read_side_services(sqlite_url)
    try:
        populate(services)
    finally:
        services.close()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DEMO_", "SESSION_"))}
    return {
        **inherited,
        "DATABASE_URL": sqlite_url,
        "SESSION_SECRET": SESSION_SECRET,
        "RECONCILE_MIN_AGE_SECONDS": "0",
        "TERM": "xterm",
    }


def on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """What the command writes to its stderr when that is a terminal."""
    leader, follower = pty.openpty()
    try:
        finished = subprocess.run(  # noqa: S603 - the project's own console script
            [str(MCPAY), *args], env=env, stdout=subprocess.DEVNULL, stderr=follower, timeout=60, check=False
        )
        os.close(follower)
        follower = -1
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: everything was read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert finished.returncode in (0, 1), drawn.decode(errors="replace")
    return drawn.decode(errors="replace")


@pytest.mark.parametrize("label", sorted(COMMANDS))
def test_a_long_command_draws_its_bar_on_a_terminal(label: str, populated: dict[str, str], tmp_path: Path) -> None:
    args = [arg.format(tmp=tmp_path) for arg in COMMANDS[label]]

    drawn = on_a_terminal(args, populated)

    assert label in drawn
    assert "━" in drawn


@pytest.mark.parametrize("label", sorted(COMMANDS))
def test_piped_output_or_no_progress_draws_none(label: str, populated: dict[str, str], tmp_path: Path) -> None:
    args = [arg.format(tmp=tmp_path) for arg in COMMANDS[label]]

    piped = subprocess.run(  # noqa: S603 - the project's own console script
        [str(MCPAY), *args], env=populated, capture_output=True, text=True, timeout=60, check=False
    )
    turned_off = on_a_terminal([*args, "--no-progress"], populated)

    assert label not in piped.stderr
    assert label not in turned_off
