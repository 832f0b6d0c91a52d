"""The README's receipt checks, run as they stand there: Python with pynacl and JavaScript with Node's crypto."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from domain.money import credits
from domain.spend import SpendOrder, receipt_body

pytestmark = pytest.mark.integration

README = Path(__file__).parents[2] / "README.md"
LEDGER_KEY = SigningKey(bytes([0x4C]) * 32)
FORGER_KEY = SigningKey(bytes([0xF0]) * 32)
PAYER = SigningKey(bytes([0x9A]) * 32).verify_key.encode().hex()
AT = "2026-03-01T12:00:03.250000Z"


def example(language: str) -> str:
    """The one code block of `language` in the README's "Checking a receipt" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Checking a receipt\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(rf"^```{language}\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, f"one {language} block in the section"
    assert len(blocks[0].splitlines()) <= 12, "a short example"
    return str(blocks[0])


def spend_json(key: SigningKey = LEDGER_KEY, **changed: str) -> dict[str, Any]:
    """A Spend as the API answers it, its receipt signed with pynacl (then `changed` after signing)."""
    order = SpendOrder(PAYER, "shop.example:seller-7", "order-42", credits("12.50"), "chai ☕", "2026-03-01T12:00:00Z")
    signed = receipt_body(order.spend_id, order, AT)
    canonical = json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    signature = key.sign(canonical.encode()).signature.hex()
    return {
        **{name: signed[name] for name in ("spend_id", "order_id", "payee", "amount", "currency", "user_id", "at")},
        "memo": order.memo,
        "balance_after": "7.50",
        "receipt": {
            "signed": {**signed, **changed},
            "signature": signature,
            "public_key": key.verify_key.encode().hex(),
        },
    }


def node() -> str:
    """CI has Node 20 as this machine has: its absence fails the test rather than skipping it."""
    return shutil.which("node") or pytest.fail("node (v20 or later) is needed: it runs the JS example")


def python() -> str:
    return sys.executable


RUNNERS: dict[str, tuple[str, Callable[[], str], str]] = {  # suffix, interpreter, what a forged receipt makes it say
    "python": ("py", python, "nacl.exceptions.BadSignatureError"),
    "js": ("mjs", node, "Error: forged receipt"),
}
CASES = {
    "a genuine receipt": ({}, LEDGER_KEY, True),
    "the amount changed after signing": ({"amount": "125.00"}, LEDGER_KEY, False),
    "the payee changed after signing": ({"payee": "thief"}, LEDGER_KEY, False),
    "signed by another key": ({}, FORGER_KEY, False),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("language", RUNNERS)
def test_the_readme_example_checks_a_receipt_with_the_public_key_alone(
    tmp_path: Path, language: str, case: str
) -> None:
    suffix, command, refusal = RUNNERS[language]
    changed, key, genuine = CASES[case]
    script = tmp_path / f"check_receipt.{suffix}"
    script.write_text(example(language), encoding="utf-8")
    spend = tmp_path / "spend.json"
    spend.write_text(json.dumps(spend_json(key, **changed), ensure_ascii=False), encoding="utf-8")

    run = subprocess.run(  # noqa: S603 (our interpreter, the README's code)
        [command(), str(script), str(spend), LEDGER_KEY.verify_key.encode().hex()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    if genuine:
        assert run.returncode == 0, run.stderr
        assert run.stdout == f"12.50 MC from {PAYER} to shop.example:seller-7 for order order-42\n"
    else:
        assert run.returncode != 0
        assert (run.stdout, refusal in run.stderr) == ("", True), run.stderr
