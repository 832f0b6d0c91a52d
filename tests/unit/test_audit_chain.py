"""The ledger line format and its hash chain, byte for byte as API.md states them."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

import pytest

from application.audit.chain import ZERO_HASH, canonical_json, link_hash, parse_rfc3339, rfc3339, seal
from application.audit.lines import json_value, ledger_line
from application.ledger import Ledger
from application.replay import ledger_events
from domain.money import Money
from domain.wallet import Wallet
from entrypoints.settings import SettingsError, load_settings

pytestmark = pytest.mark.unit


class Colour(StrEnum):
    RED = "red"


def test_canonical_json_sorts_keys_at_every_level_without_spaces_or_ascii_escapes() -> None:
    value = {"b": 1, "a": {"z": "ü", "y": [2, {"d": None, "c": True}]}}

    assert canonical_json(value) == '{"a":{"y":[2,{"c":true,"d":null}],"z":"ü"},"b":1}'


def test_a_line_hash_is_sha256_of_the_previous_hash_then_the_canonical_line_without_its_hash() -> None:
    unsealed = {"position": 1, "type": "Noted", "data": {"note": "café"}}

    line = seal(unsealed, ZERO_HASH)

    expected_bytes = ZERO_HASH + '{"data":{"note":"café"},"position":1,"prev_hash":"' + ZERO_HASH + '","type":"Noted"}'
    assert line["prev_hash"] == ZERO_HASH
    assert line["hash"] == hashlib.sha256(expected_bytes.encode("utf-8")).hexdigest()
    assert line["hash"] == link_hash(ZERO_HASH, {k: v for k, v in line.items() if k != "hash"})


def test_event_attributes_become_plain_json() -> None:
    moment = datetime(2026, 3, 1, 15, 0, tzinfo=timezone(timedelta(hours=3)))
    value = {
        "amount": Decimal("25.00"),
        "rate": Decimal("0.00037"),
        "big": Decimal("1E+2"),
        "id": UUID(int=7),
        "at": moment,
        "status": Colour.RED,
        "tags": {"b", "a"},
        "pair": (1, "x"),
        "nothing": None,
    }

    assert json_value(value) == {
        "amount": "25.00",
        "rate": "0.00037",
        "big": "100",
        "id": "00000000-0000-0000-0000-000000000007",
        "at": "2026-03-01T12:00:00.000000Z",
        "status": "red",
        "tags": ["a", "b"],
        "pair": [1, "x"],
        "nothing": None,
    }


def test_times_are_rfc3339_utc_and_parsed_only_with_an_offset() -> None:
    assert rfc3339(datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=UTC)) == "2026-03-01T12:00:00.000005Z"
    assert parse_rfc3339("2026-03-01T12:00:00Z") == datetime(2026, 3, 1, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="lacks its UTC offset"):
        parse_rfc3339("2026-03-01T12:00:00")
    with pytest.raises(ValueError, match="not an RFC 3339 time"):
        parse_rfc3339("yesterday")


def test_a_ledger_line_names_stream_type_and_event_class_and_repeats_no_originator_field(ledger: Ledger) -> None:
    wallet = Wallet(user_id="a" * 64)
    wallet.top_up(UUID(int=1), Money.of("25.00", "MC"), gateway="stripe")
    ledger.commit(wallet)

    (_, opened), (position, topped_up) = list(ledger_events(ledger))
    line = ledger_line(position, topped_up)

    assert line == {
        "position": 2,
        "stream_id": str(wallet.id),
        "stream_type": "Wallet",
        "version": 2,
        "type": "CreditsToppedUp",
        "timestamp": rfc3339(topped_up.timestamp),
        "data": {"payment_id": str(UUID(int=1)), "amount": "25.00", "balance_after": "25.00", "gateway": "stripe"},
    }
    assert ledger_line(1, opened)["data"] == {"user_id": "a" * 64}  # no originator_topic either
    json.dumps(line)


def test_a_move_recorded_before_moves_named_their_gateway_keeps_its_line(ledger: Ledger) -> None:
    """Its line is the one an export made before (ADR 65): no `gateway`, not even null."""
    wallet = Wallet(user_id="a" * 64)
    wallet.top_up(UUID(int=1), Money.of("25.00", "MC"), gateway="stripe")
    vars(wallet.pending_events[-1]).pop("gateway")  # as an earlier release recorded it
    ledger.commit(wallet)

    (_, _), (position, topped_up) = list(ledger_events(ledger))

    assert topped_up.gateway is None
    assert ledger_line(position, topped_up)["data"] == {
        "payment_id": str(UUID(int=1)), "amount": "25.00", "balance_after": "25.00"
    }  # fmt: skip


def test_checkpoints_default_to_hourly_and_zero_turns_them_off() -> None:
    assert load_settings({}).checkpoint_interval_seconds == 3600
    assert load_settings({"CHECKPOINT_INTERVAL_SECONDS": "0"}).checkpoint_interval_seconds == 0
    with pytest.raises(SettingsError, match="CHECKPOINT_INTERVAL_SECONDS"):
        load_settings({"CHECKPOINT_INTERVAL_SECONDS": "soon"})


def test_the_ledger_key_is_the_configured_one_or_a_stable_demo_key_or_none_in_live_mode() -> None:
    seed = "5e" * 32
    assert load_settings({"LEDGER_SIGNING_KEY": seed}).effective_ledger_signing_key == seed
    demo = load_settings({"SESSION_SECRET": "s" * 32}).effective_ledger_signing_key
    assert demo == load_settings({"SESSION_SECRET": "s" * 32}).effective_ledger_signing_key
    assert len(demo) == 64
    assert load_settings({"DEMO_PAYMENT": "false", "SESSION_SECRET": "s" * 32}).effective_ledger_signing_key == ""
