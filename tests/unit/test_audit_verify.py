"""Offline verification of a signed export: what passes, and the first problem named for what does not."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from adapters.identity import Ed25519Signatures
from application.audit.chain import canonical_json
from application.audit.service import LedgerAudit
from application.audit.verify import Verification, verify_export
from application.ledger import Ledger
from application.payments import PaymentService
from tests.audit_support import ALICE, BOB, FORGER_KEY, SERVICE_KEY, first, parsed, pay, rechain, refund
from tests.unit.fakes import FakeClock, FakeGateway, FakeIdentifiers

pytestmark = pytest.mark.unit

RATES = {"USD": Decimal(1), "EUR": Decimal("1.08")}


@pytest.fixture
def payments(ledger: Ledger) -> PaymentService:
    return PaymentService(ledger, {"stripe": FakeGateway()}, RATES, FakeIdentifiers())


@pytest.fixture
def audit(ledger: Ledger) -> LedgerAudit:
    return LedgerAudit(ledger, SERVICE_KEY, FakeClock())


@pytest.fixture
def export(payments: PaymentService, audit: LedgerAudit) -> list[str]:
    """Alice buys 25 and 10 MC and gets 10 USD of the first refunded; Bob buys 13.32 MC with 12.34 EUR."""
    first_payment = pay(payments, ALICE, "25.00")
    pay(payments, ALICE, "10.00")
    pay(payments, BOB, "12.34", "EUR")
    refund(payments, first_payment, "10.00")
    return list(audit.export())


def verify(lines: list[str], key: str = SERVICE_KEY.public_key) -> Verification:
    return verify_export((line.encode() for line in lines), key, Ed25519Signatures())


def problem(lines: list[str], key: str = SERVICE_KEY.public_key) -> str:
    result = verify(lines, key)
    assert result.problem is not None, "verification passed"
    return str(result.problem)


def edited(lines: list[str], index: int, **data: Any) -> list[str]:
    """The export with one line's data changed and nothing else (its hash no longer fits)."""
    line = json.loads(lines[index])
    line["data"].update(data)
    return [*lines[:index], canonical_json(line) + "\n", *lines[index + 1 :]]


def test_a_genuine_export_verifies_and_rebuilds_every_balance(export: list[str]) -> None:
    result = verify(export)

    assert result.ok, result.problem
    assert result.balances == {ALICE: Decimal("25.00"), BOB: Decimal("13.32")}
    assert result.lines == len(export) - 1
    assert json.loads(export[-1]) == {
        "type": "ExportSignature",
        "count": len(export) - 1,
        "head_hash": json.loads(export[-2])["hash"],
        "public_key": SERVICE_KEY.public_key,
        "signature": SERVICE_KEY.sign(json.loads(export[-2])["hash"].encode()),
    }


def test_every_line_is_sent_in_canonical_form_with_the_documented_fields(export: list[str]) -> None:
    for text in export[:-1]:
        line = json.loads(text)
        assert text == canonical_json(line) + "\n"
        assert set(line) == {
            "position", "stream_id", "stream_type", "version", "type", "timestamp", "data", "prev_hash", "hash"
        }  # fmt: skip
    kinds = {(line["stream_type"], line["type"]) for line in parsed(export[:-1])}
    assert {("Payment", "PaymentInitiated"), ("Payment", "PaymentConfirmed"), ("Payment", "PaymentRefunded")} <= kinds
    assert {("Wallet", "WalletOpened"), ("Wallet", "CreditsToppedUp"), ("Wallet", "CreditsReversed")} <= kinds


def test_a_tampered_amount_breaks_its_line_hash(export: list[str]) -> None:
    index = first(parsed(export), "CreditsToppedUp")

    assert problem(edited(export, index, amount="2500.00")) == (
        f"line {index + 1}: hash does not match the line's content: the line was altered"
    )


def test_a_deleted_line_breaks_the_link_of_the_next(export: list[str]) -> None:
    assert problem(export[:3] + export[4:]) == (
        "line 4: prev_hash is not the hash of line 3: a line was deleted, inserted or moved"
    )


def test_a_reordered_line_breaks_the_link(export: list[str]) -> None:
    swapped = [export[0], export[2], export[1], *export[3:]]

    assert problem(swapped) == "line 2: prev_hash is not the hash of line 1: a line was deleted, inserted or moved"


def test_a_forged_signature_is_refused(export: list[str]) -> None:
    signature = json.loads(export[-1])
    signature["signature"] = FORGER_KEY.sign(signature["head_hash"].encode())
    forged = [*export[:-1], canonical_json(signature) + "\n"]

    assert problem(forged) == (
        f"line {len(export)}: the ExportSignature signature is not valid for head_hash: forged or altered"
    )


def test_an_export_checked_against_the_wrong_key_is_refused(export: list[str]) -> None:
    assert problem(export, FORGER_KEY.public_key) == (
        f"line {len(export)}: the export is signed by key {SERVICE_KEY.public_key}, "
        f"not by the expected key {FORGER_KEY.public_key}"
    )


def test_a_truncated_export_is_refused(export: list[str]) -> None:
    assert (
        problem(export[:-3]) == f"line {len(export) - 2}: the export ends without its ExportSignature line (truncated?)"
    )


def test_nothing_may_follow_the_signature(export: list[str]) -> None:
    assert problem([*export, export[0]]) == f"line {len(export) + 1}: a line follows the ExportSignature line"


def test_a_line_that_is_not_json_is_named(export: list[str]) -> None:
    assert problem([export[0], "{not json\n", *export[2:]]) == "line 2: is not a JSON object"


def respelled(text: str) -> dict[str, str]:
    """Other spellings of the same JSON object: each parses to what the line's hash covers."""
    body = text.removesuffix("\n")
    line = json.loads(body)
    return {
        "a duplicated key, the first one a lie": body.replace(
            '"data":{"amount":', '"data":{"amount":"2500.00","amount":', 1
        ),
        "spaces": json.dumps(line, sort_keys=True, ensure_ascii=False),
        "another key order": json.dumps(dict(reversed(list(line.items()))), separators=(",", ":"), ensure_ascii=False),
        "an ascii escape": body.replace('"position"', '"\\u0070osition"', 1),
        "a carriage return": body + "\r",
    }


@pytest.mark.parametrize("spelling", list(respelled('{"data":{"amount":"1"}}')))
def test_a_line_spelled_other_than_its_canonical_json_is_refused(export: list[str], spelling: str) -> None:
    index = first(parsed(export), "CreditsToppedUp")
    text = respelled(export[index])[spelling]
    assert json.loads(text) == json.loads(export[index])  # the hash it carries still fits what it parses to

    assert problem([*export[:index], text + "\n", *export[index + 1 :]]) == (
        f"line {index + 1}: is not byte for byte its canonical JSON (a duplicated key, spaces, another key order "
        "or \\u escapes): the line was rewritten"
    )


def test_the_signature_line_must_be_canonical_too(export: list[str]) -> None:
    signature = json.dumps(json.loads(export[-1])) + "\n"
    assert problem([*export[:-1], signature]).startswith(f"line {len(export)}: is not byte for byte its canonical")


def test_a_rechained_and_resigned_inflated_credit_still_breaks_the_rules(export: list[str]) -> None:
    lines = parsed(export)
    index = first(lines, "CreditsToppedUp")
    lines[index]["data"]["amount"] = "2500.00"
    payment = lines[index]["data"]["payment_id"]

    assert problem(rechain(lines), FORGER_KEY.public_key) == (
        f"line {index + 1}: credits 2500.00 MC for payment {payment}, whose confirmation credits 25.00 MC"
    )


@pytest.mark.parametrize("kind", ["CreditsToppedUp", "CreditsReversed"])
def test_a_move_through_another_gateway_than_its_payments_is_refused(export: list[str], kind: str) -> None:
    """The accounts would still add up: the gateway a move names must be its payment's (ADR 65)."""
    lines = parsed(export)
    index = first(lines, kind)
    assert lines[index]["data"]["gateway"] == "stripe"
    lines[index]["data"]["gateway"] = "bank"
    payment = lines[index]["data"]["payment_id"]

    assert problem(rechain(lines), FORGER_KEY.public_key) == (
        f"line {index + 1}: moves credits of payment {payment} through 'bank', a payment of 'stripe'"
    )


def test_a_credit_of_a_payment_never_initiated_is_refused_though_it_names_a_gateway(export: list[str]) -> None:
    lines = parsed(export)
    index = first(lines, "CreditsToppedUp")
    lines[index]["data"]["payment_id"] = str(UUID(int=7))

    assert problem(rechain(lines), FORGER_KEY.public_key) == (
        f"line {index + 1}: credits payment {UUID(int=7)}, which the ledger never initiated"
    )


def test_a_move_recorded_before_moves_named_their_gateway_verifies(export: list[str]) -> None:
    lines = parsed(export)
    for line in lines:
        if line.get("type") in ("CreditsToppedUp", "CreditsReversed", "CreditsReinstated"):
            del line["data"]["gateway"]

    assert verify(rechain(lines), FORGER_KEY.public_key).problem is None


def test_a_payment_credited_twice_is_refused(export: list[str]) -> None:
    lines = parsed(export)
    index = first(lines, "CreditsToppedUp")
    again = {**lines[index], "version": lines[index]["version"] + 100}
    lines.insert(index + 1, again)
    lines[index + 1 :] = _renumbered(lines[index + 1 :], lines[index])

    assert problem(rechain(lines), FORGER_KEY.public_key) == (
        f"line {index + 2}: credits payment {lines[index]['data']['payment_id']} a second time (first on line {index + 1})"
    )


def test_a_reversal_without_refund_or_dispute_is_refused(export: list[str]) -> None:
    lines = [line for line in parsed(export) if line.get("type") != "PaymentRefunded"]
    lines = _with_contiguous_versions(lines)
    reversal = first(lines, "CreditsReversed")
    payment = lines[reversal]["data"]["payment_id"]

    assert problem(rechain(lines), FORGER_KEY.public_key) == (
        f"line {reversal + 1}: takes back credits of payment {payment} with no refund or dispute of that payment to match"
    )


def test_a_missing_event_leaves_a_version_gap_in_its_stream(export: list[str]) -> None:
    lines = parsed(export)
    confirmed = first(lines, "PaymentConfirmed")
    stream, missing = lines[confirmed]["stream_id"], lines[confirmed]["version"]
    del lines[confirmed]
    after = next(i for i, line in enumerate(lines) if line.get("stream_id") == stream and i >= confirmed)

    assert problem(rechain(lines), FORGER_KEY.public_key) == (
        f"line {after + 1}: Payment {stream} has version {missing + 1} where {missing} is due: an event is missing"
    )


def test_events_of_unknown_types_are_chained_and_otherwise_ignored(export: list[str]) -> None:
    lines = parsed(export)
    novelty = {
        "position": lines[-2]["position"] + 1,
        "stream_id": str(UUID(int=99)),
        "stream_type": "Voucher",
        "version": 1,
        "type": "VoucherIssued",
        "timestamp": lines[-2]["timestamp"],
        "data": {"code": "X", "payment_id": lines[0]["stream_id"], "amount": "1.00"},
    }
    result = verify(rechain([*lines[:-1], novelty], SERVICE_KEY))

    assert result.ok, result.problem
    assert result.balances == {ALICE: Decimal("25.00"), BOB: Decimal("13.32")}


def test_a_page_of_the_ledger_is_byte_for_byte_the_same_lines_as_the_export(
    export: list[str], audit: LedgerAudit
) -> None:
    assert list(audit.page(0, 3)) == export[:3]
    assert list(audit.page(3, 4)) == export[3:7]
    assert list(audit.page(7, 10_000)) == export[7:-1]
    assert list(audit.page(len(export) + 5, 10)) == []
    assert audit.hash_at(5) == json.loads(export[4])["hash"]


def test_checkpoints_are_recorded_when_the_ledger_moved_and_verified_in_the_export(
    payments: PaymentService, audit: LedgerAudit
) -> None:
    pay(payments, ALICE, "5.00")
    checkpoint = audit.record_checkpoint()
    assert audit.record_checkpoint() is None  # nothing but the checkpoint since
    pay(payments, BOB, "7.00")
    assert audit.record_checkpoint() is not None

    assert checkpoint is not None
    assert checkpoint.head_hash == audit.hash_at(checkpoint.position)
    result = verify(list(audit.export()))
    assert result.ok, result.problem
    assert result.checkpoints == 2


def test_a_checkpoint_catches_history_rewritten_before_it_even_in_a_freshly_signed_export(
    payments: PaymentService, audit: LedgerAudit
) -> None:
    pay(payments, ALICE, "5.00")
    checkpoint = audit.record_checkpoint()
    assert checkpoint is not None
    lines = parsed(audit.export())
    lines[0]["data"]["reference"] = "MCREWRITTEN1"  # no rule looks at references: only the checkpoint can tell
    rewritten = rechain(lines, SERVICE_KEY)  # what the service would sign after a rewrite in its database
    at = first(lines, "LedgerCheckpointRecorded") + 1

    assert problem(rewritten) == (
        f"line {at}: the checkpoint vouched for hash {checkpoint.head_hash} at position {checkpoint.position}, but "
        f"the export's chain has {json.loads(rewritten[checkpoint.position - 1])['hash']} there: "
        "the history up to that position was rewritten"
    )


def test_a_checkpoint_with_a_forged_signature_is_refused(payments: PaymentService, audit: LedgerAudit) -> None:
    pay(payments, ALICE, "5.00")
    audit.record_checkpoint()
    lines = parsed(audit.export())
    at = first(lines, "LedgerCheckpointRecorded")
    lines[at]["data"]["signature"] = FORGER_KEY.sign(lines[at]["data"]["head_hash"].encode())

    assert problem(rechain(lines, SERVICE_KEY)) == (
        f"line {at + 1}: the checkpoint's signature is not valid for its head_hash: forged or altered"
    )


def test_balances_as_of_a_time_are_rebuilt_from_the_events_recorded_until_then(
    payments: PaymentService, audit: LedgerAudit, ledger: Ledger
) -> None:
    payment = pay(payments, ALICE, "25.00")
    credited = _wallet_changed(ledger)
    refund(payments, payment, "25.00")
    reversed_ = _wallet_changed(ledger)

    assert audit.balances(credited).balances == {ALICE: Decimal("25.00")}
    assert audit.balances(reversed_).balances == {ALICE: Decimal("0.00")}
    assert audit.balances(payment.created_at).balances == {}
    assert audit.balances().as_of == FakeClock().now()  # no time given: the clock's now


def _wallet_changed(ledger: Ledger) -> datetime:
    wallet = ledger.wallet_of(ALICE)
    assert wallet is not None
    return wallet.modified_on


def _renumbered(lines: list[dict[str, Any]], previous: dict[str, Any]) -> list[dict[str, Any]]:
    """Positions after `previous`, and contiguous versions in `previous`'s stream."""
    position, version = previous["position"], previous["version"]
    for line in lines:
        position += 1
        line["position"] = position
        if line.get("stream_id") == previous["stream_id"]:
            version += 1
            line["version"] = version
    return lines


def _with_contiguous_versions(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    versions: dict[str, int] = {}
    for line in lines:
        if "stream_id" in line:
            versions[line["stream_id"]] = line["version"] = versions.get(line["stream_id"], 0) + 1
    return lines


def test_an_empty_ledger_exports_a_signed_zero_head_that_verifies(audit: LedgerAudit) -> None:
    [only] = list(audit.export())

    assert json.loads(only)["count"] == 0
    assert json.loads(only)["head_hash"] == "0" * 64
    assert verify([only]).ok
    assert audit.record_checkpoint() is None
