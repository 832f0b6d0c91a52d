from __future__ import annotations

import json
from decimal import Decimal
from uuid import UUID

import pytest

from domain.errors import InvalidAmount
from domain.indexes import SpendRecord
from domain.money import Money, credits
from domain.spend import InsufficientFunds, InvalidSpend, SpendOrder, receipt_body, signed_moment
from domain.wallet import Wallet

pytestmark = pytest.mark.unit

OWNER = "ab" * 32
PAYMENT = UUID(int=1)


def order(**changes: object) -> SpendOrder:
    fields: dict[str, object] = {
        "user_id": OWNER,
        "payee": "shop.example:seller-7",
        "order_id": "order_2026-12-01",
        "amount": credits("12.50"),
        "memo": "two mushrooms",
        "signed_at": "2026-12-01T12:00:00Z",
    }
    fields.update(changes)
    return SpendOrder(**fields)  # type: ignore[arg-type]


def funded(amount: str) -> Wallet:
    wallet = Wallet(user_id=OWNER)
    wallet.top_up(PAYMENT, credits(amount), gateway="stripe")
    wallet.collect_events()
    return wallet


def test_the_signed_message_is_the_canonical_json_of_the_contract() -> None:
    message = order(amount=credits("5")).message()
    assert (
        message
        == (
            '{"amount":"5.00","currency":"MC","memo":"two mushrooms","order_id":"order_2026-12-01",'
            f'"payee":"shop.example:seller-7","signed_at":"2026-12-01T12:00:00Z","type":"mcpay.spend.v1","user_id":"{OWNER}"}}'
        ).encode()
    )


def test_non_ascii_memos_are_signed_as_utf8_not_escaped() -> None:
    message = order(memo="chai ☕").message()
    assert "chai ☕".encode() in message
    assert json.loads(message)["memo"] == "chai ☕"


@pytest.mark.parametrize("name", ["", "a" * 65, "has space", "slash/no", "ümlaut", "semi;colon"])
def test_payees_and_order_ids_are_short_plain_names(name: str) -> None:
    with pytest.raises(InvalidSpend, match="payee"):
        order(payee=name)
    with pytest.raises(InvalidSpend, match="order_id"):
        order(order_id=name)


def test_a_memo_is_at_most_200_characters() -> None:
    assert order(memo="m" * 200).memo == "m" * 200
    with pytest.raises(InvalidSpend, match="memo"):
        order(memo="m" * 201)


def test_a_spend_is_a_positive_amount_of_credits() -> None:
    with pytest.raises(InvalidAmount):
        order(amount=Money(Decimal("1.00"), "USD"))
    with pytest.raises(InvalidAmount):
        order(amount=credits(0))


@pytest.mark.parametrize(
    "text", ["2026-12-01T12:00:00+03:00", "2026-12-01T12:00:00", "2026-12-01", "yesterday", "2026-12-01 12:00:00Z"]
)
def test_signed_at_is_an_rfc3339_utc_time(text: str) -> None:
    with pytest.raises(InvalidSpend, match="signed_at"):
        order(signed_at=text)


def test_signed_at_accepts_fractions_and_a_zero_offset() -> None:
    assert signed_moment("2026-12-01T12:00:00.123Z").microsecond == 123000
    assert order(signed_at="2026-12-01T12:00:00+00:00").signed_at == "2026-12-01T12:00:00+00:00"


def test_one_spend_per_user_payee_and_order() -> None:
    assert (
        order().spend_id
        == order(amount=credits("1")).spend_id
        == SpendRecord.create_id(OWNER, "shop.example:seller-7", "order_2026-12-01")
    )
    assert order().spend_id != order(order_id="other").spend_id
    assert order().spend_id != order(payee="other").spend_id
    assert order().spend_id != order(user_id="cd" * 32).spend_id
    assert order().fingerprint != order(amount=credits("1")).fingerprint


def test_a_spend_moves_what_the_balance_covers_and_records_what_was_signed() -> None:
    wallet = funded("20.00")
    wallet.spend(order(amount=credits("20.00")), signature="5a" * 64)
    assert wallet.balance == Decimal("0.00")
    (spent,) = wallet.collect_events()
    assert isinstance(spent, Wallet.CreditsSpent)
    assert spent.balance_after == Decimal("0.00")
    assert spent.message.encode() == order(amount=credits("20.00")).message()
    assert (spent.payee, spent.order_id, spent.signature) == ("shop.example:seller-7", "order_2026-12-01", "5a" * 64)


def test_a_spend_beyond_the_balance_is_refused_and_changes_nothing() -> None:
    wallet = funded("12.49")
    with pytest.raises(InsufficientFunds):
        wallet.spend(order(amount=credits("12.50")), signature="5a" * 64)
    assert wallet.balance == Decimal("12.49")
    assert wallet.collect_events() == []


def test_a_wallet_in_debt_covers_no_spend_until_a_top_up_pays_the_debt() -> None:
    wallet = funded("10.00")
    wallet.reverse(PAYMENT, credits("25.00"), "refund", gateway="stripe")
    assert wallet.balance == Decimal("-15.00")
    with pytest.raises(InsufficientFunds):
        wallet.spend(order(amount=credits("0.01")), signature="5a" * 64)
    wallet.top_up(UUID(int=2), credits("20.00"), gateway="stripe")
    assert wallet.balance == Decimal("5.00")
    wallet.spend(order(amount=credits("5.00")), signature="5a" * 64)
    assert wallet.balance == Decimal("0.00")


def test_only_the_owner_spends_from_a_wallet() -> None:
    with pytest.raises(InvalidSpend, match="wallet"):
        funded("20.00").spend(order(user_id="cd" * 32), signature="5a" * 64)


def test_the_receipt_names_the_spend_and_its_time() -> None:
    spend = order()
    assert receipt_body(spend.spend_id, spend, "2026-12-01T12:00:01.000000Z") == {
        "spend_id": str(spend.spend_id),
        "order_id": "order_2026-12-01",
        "payee": "shop.example:seller-7",
        "amount": "12.50",
        "currency": "MC",
        "user_id": OWNER,
        "at": "2026-12-01T12:00:01.000000Z",
    }
