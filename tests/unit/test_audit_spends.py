"""Spends in the auditor's export: carried exactly, checked offline against their owner's key, and in double entry.

Every forgery here is re-chained and re-signed with the service's own ledger key: only the spends' own signed
messages and signatures can tell it from a genuine export.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from adapters.identity import Ed25519Signatures
from application.accounts import Accounts
from application.audit.chain import canonical_json
from application.audit.service import LedgerAudit
from application.audit.verify import Verification, verify_export
from application.ledger import Ledger
from application.payments import PaymentService
from application.replay import replay_accounts
from domain.spend import SPEND_MESSAGE_TYPE, spend_id_of
from tests.audit_support import (
    CAROL,
    CAROL_KEY,
    DAVE,
    DAVE_KEY,
    SERVICE_KEY,
    SIGNED_AT,
    dispute,
    parsed,
    pay,
    rechain,
    refund,
    spend,
)
from tests.unit.fakes import FakeClock, FakeGateway, FakeIdentifiers

pytestmark = pytest.mark.unit

Line = dict[str, Any]


@pytest.fixture
def payments(ledger: Ledger) -> PaymentService:
    gateway = FakeGateway()
    return PaymentService(ledger, {"stripe": gateway}, {"USD": Decimal(1)}, FakeIdentifiers())


@pytest.fixture
def export(ledger: Ledger, payments: PaymentService) -> list[str]:
    """Carol buys 25 MC and spends 10 and 5, buys 5 more that are disputed and given back; Dave buys 10, spends 8
    and is refunded all 10: he owes 8."""
    pay(payments, CAROL, "25.00")
    spend(ledger, CAROL_KEY, "10.00", "shop.example", "order-1", memo="chai ☕")
    spend(ledger, CAROL_KEY, "5.00", "seller:7", "order-2")
    disputed = pay(payments, CAROL, "5.00")
    dispute(payments, disputed, "dp_1")
    dispute(payments, disputed, "dp_1", won=True)
    bought = pay(payments, DAVE, "10.00")
    spend(ledger, DAVE_KEY, "8.00", "shop.example", "order-1")
    refund(payments, bought, "10.00")
    return list(LedgerAudit(ledger, SERVICE_KEY, FakeClock()).export())


def verify(lines: list[str]) -> Verification:
    return verify_export((line.encode() for line in lines), SERVICE_KEY.public_key, Ed25519Signatures())


def problem(lines: list[str]) -> str:
    result = verify(lines)
    assert result.problem is not None, "verification passed"
    return str(result.problem)


def spends(lines: list[Line]) -> list[int]:
    return [index for index, line in enumerate(lines) if line["type"] == "CreditsSpent"]


def test_each_spend_is_exported_with_its_signed_message_and_signature_exactly(export: list[str]) -> None:
    lines = parsed(export[:-1])
    first = lines[spends(lines)[0]]

    message = {
        "type": SPEND_MESSAGE_TYPE, "user_id": CAROL, "payee": "shop.example", "order_id": "order-1",
        "amount": "10.00", "currency": "MC", "memo": "chai ☕", "signed_at": SIGNED_AT,
    }  # fmt: skip
    opened = next(line for line in lines if line["type"] == "WalletOpened")
    assert (first["stream_type"], first["stream_id"]) == ("Wallet", opened["stream_id"])  # Carol's wallet
    assert first["data"] == {
        "spend_id": str(spend_id_of(CAROL, "shop.example", "order-1")),
        "payee": "shop.example",
        "order_id": "order-1",
        "amount": "10.00",
        "memo": "chai ☕",
        "signed_at": SIGNED_AT,
        "message": canonical_json(message),
        "signature": CAROL_KEY.sign(canonical_json(message).encode()).signature.hex(),
        "balance_after": "15.00",
    }
    assert "chai ☕" in export[spends(lines)[0]]  # UTF-8 as signed, not \u escapes
    debt = lines[spends(lines)[-1] + 1 :]
    assert [line["data"]["balance_after"] for line in debt if line["type"] == "CreditsReversed"] == ["-8.00"]


def test_an_export_with_spends_debts_and_reinstatements_verifies_in_double_entry(export: list[str]) -> None:
    result = verify(export)

    assert result.ok, result.problem
    assert result.balances == {CAROL: Decimal("15.00"), DAVE: Decimal("-8.00")}
    assert result.payees == {"seller:7": Decimal("5.00"), "shop.example": Decimal("18.00")}
    assert result.gateways == {"stripe": Decimal("-30.00")}  # 40 bought, 10 refunded, 5 disputed and won back
    everything = [*result.balances.values(), *result.payees.values(), *result.gateways.values()]
    assert sum(everything) == 0


def changed(lines: list[Line], at: int, **fields: str) -> Line:
    """The spend at `at` with `fields` changed in its data only: its message and signature as they were."""
    line: Line = json.loads(canonical_json(lines[at]))
    line["data"].update(fields)
    return line


def rebuilt(lines: list[Line], at: int, **fields: str) -> Line:
    """The spend with `fields` changed in its data and in its message; the owner's old signature kept."""
    line = changed(lines, at, **fields)
    signed = json.loads(line["data"]["message"])
    signed.update({name: value for name, value in fields.items() if name in signed})
    line["data"]["message"] = canonical_json(signed)
    return line


def test_replay_rebuilds_the_same_accounts_from_the_store(ledger: Ledger, export: list[str]) -> None:
    verified, replayed = verify(export), replay_accounts(ledger)

    assert (replayed.wallets, replayed.payees, replayed.gateways) == (
        verified.balances,
        verified.payees,
        verified.gateways,
    )
    assert replayed.balanced


def resigned(lines: list[Line], at: int, key: Any = CAROL_KEY, **fields: str) -> Line:
    """The spend with `fields` changed, its message rebuilt and signed again by `key`."""
    line = rebuilt(lines, at, **fields)
    line["data"]["signature"] = key.sign(line["data"]["message"].encode()).signature.hex()
    return line


def replaced(lines: list[Line], at: int, line: Line) -> tuple[list[Line], int]:
    return [*lines[:at], line, *lines[at + 1 :]], at


def inserted(lines: list[Line], at: int, line: Line, into: Line) -> tuple[list[Line], int]:
    """`line` placed at index `at` as an event of `into`'s stream; versions and positions renumbered."""
    out = [*lines[:at], {**line, "stream_id": into["stream_id"]}, *lines[at:]]
    versions: dict[str, int] = {}
    for position, each in enumerate(out, start=1):
        versions[each["stream_id"]] = versions.get(each["stream_id"], 0) + 1
        out[position - 1] = {**each, "version": versions[each["stream_id"]], "position": position}
    return out, at


Forgery = Callable[[list[Line], int], tuple[list[Line], int]]  # the lines and the index of the forged one
ORDER_9 = str(spend_id_of(CAROL, "shop.example", "order-9"))
ORDER_2 = str(spend_id_of(CAROL, "shop.example", "order-2"))
OWNER = f"the spend's signature does not verify with the key of its wallet's owner {CAROL}"
FORGERIES: dict[str, tuple[Forgery, str]] = {
    "amount changed, the message left as signed": (
        lambda lines, at: replaced(lines, at, changed(lines, at, amount="1.00")),
        "the spend's signed message says amount '10.00', but the line says '1.00'",
    ),
    "amount changed and the message rebuilt": (lambda lines, at: replaced(lines, at, rebuilt(lines, at, amount="1.00")), OWNER),
    "payee changed and the message rebuilt": (lambda lines, at: replaced(lines, at, rebuilt(lines, at, payee="thief")), OWNER),
    "signed by another key": (lambda lines, at: replaced(lines, at, resigned(lines, at, DAVE_KEY, amount="1.00")), OWNER),
    "copied onto another wallet": (
        lambda lines, at: inserted(lines, spends(lines)[-1] + 1, lines[at], lines[spends(lines)[-1]]),
        f"the spend's signed message is user {CAROL}'s, but the spend is in user {DAVE}'s wallet",
    ),
    "the same order spent twice": (
        lambda lines, at: inserted(lines, at + 1, lines[at], lines[at]),
        f"spends user {CAROL}'s order order-1 with shop.example a second time (first on line {{first}})",
    ),
    "an overdraft its owner really signed": (
        lambda lines, at: inserted(lines, at + 1, resigned(lines, at, amount="500.00", order_id="order-9", spend_id=ORDER_9), lines[at]),
        "spends 500.00 MC from a balance of 15.00 MC: a spend never overdraws",
    ),
    "an amount not written as signed amounts are": (
        lambda lines, at: replaced(lines, at, changed(lines, at, amount="10.0")),
        "spends '10.0', not a positive amount of MC with exactly 2 decimals",
    ),
    "a spend id that is not its order's": (
        lambda lines, at: replaced(lines, at, changed(lines, at, spend_id=ORDER_2)),
        f"spend_id {ORDER_2} is not the id of user {CAROL}'s order order-1 with shop.example",
    ),
}  # fmt: skip


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_spend_in_a_rechained_export_signed_by_the_ledger_key_is_refused_at_its_line(
    export: list[str], forgery: str
) -> None:
    lines = parsed(export[:-1])
    at = spends(lines)[0]
    forge, reason = FORGERIES[forgery]

    forged, index = forge(lines, at)

    assert problem(rechain(forged, SERVICE_KEY)) == f"line {index + 1}: " + reason.format(first=at + 1)


def test_accounts_are_unbalanced_by_a_leg_without_its_counterpart() -> None:
    accounts = Accounts()
    accounts.from_gateway("stripe", CAROL, Decimal("25.00"))
    accounts.spend(CAROL, "shop.example", Decimal("10.00"))
    assert accounts.balanced

    accounts.post(accounts.wallets, CAROL, Decimal("1.00"))

    assert not accounts.balanced
    accounts.wallets[CAROL] -= Decimal("1.00")  # the balances mended, the posted legs still one short
    assert not accounts.balanced
