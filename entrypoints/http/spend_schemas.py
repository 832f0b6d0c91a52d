"""Bodies of the spending operations and of the admin's payees and debts (API.md, "Spending credits")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from application.spending import Spent
from application.views import DebtView, PayeeView
from domain.spend import MEMO_LIMIT
from entrypoints.http.schemas import Amount, DecimalText, PublicKeyHex, SpendName, UserId, checked_here

NAME_RULE = "1 to 64 characters of a-z A-Z 0-9 . _ : - (else 422)."
PayeeName = Annotated[str, checked_here(f"Who is paid. {NAME_RULE}", pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
OrderId = Annotated[
    str,
    checked_here(f"The idempotency key, per user and payee. {NAME_RULE}", pattern=r"^[A-Za-z0-9._:-]{1,64}$"),
]
Memo = Annotated[str, checked_here(f'At most {MEMO_LIMIT} characters; absent: "".', maxLength=MEMO_LIMIT)]
SignedAt = Annotated[
    str,
    checked_here(
        "RFC 3339 UTC (e.g. 2026-03-01T12:00:00Z), exactly as signed; more than 5 minutes old or more than 1 minute "
        "ahead of the server's clock: 422 stale-signature.",
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|\+00:00)$",
    ),
]
SpendSignature = Annotated[
    str,
    checked_here(
        "The ed25519 signature (128 hex digits), by the signed-in user's key, of the UTF-8 bytes of the canonical "
        'JSON of {"type": "mcpay.spend.v1", "user_id", "payee", "order_id", "amount": "<MC, 2 decimals>", '
        '"currency": "MC", "memo", "signed_at"}; one that does not verify: 422 bad-signature.',
        pattern="^[0-9a-f]{128}$",
    ),
]
Hex128 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{128}$")]
Rfc3339 = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")]


class SpendRequest(msgspec.Struct):
    """Credits to a payee, signed by the wallet's owner. The same signed body again answers 200 with the recorded
    spend; another body with the same `order_id` (and payee) is a 409 order-already-used."""

    amount: Amount
    payee: PayeeName
    order_id: OrderId
    signed_at: SignedAt
    signature: SpendSignature
    memo: Memo = ""


class ReceiptBody(msgspec.Struct):
    spend_id: str
    order_id: SpendName
    payee: SpendName
    amount: DecimalText
    currency: Literal["MC"]
    user_id: UserId
    at: Rfc3339


class SpendReceipt(msgspec.Struct):
    """`signature`: ed25519 (hex) of the canonical JSON of `signed` by the ledger key, `public_key` (also at GET
    /api/ledger/public-key): a payee checks a spend with the key alone."""

    signed: ReceiptBody
    signature: Hex128
    public_key: PublicKeyHex


class Spend(msgspec.Struct):
    spend_id: UUID
    order_id: SpendName
    payee: SpendName
    amount: DecimalText
    currency: Literal["MC"]
    memo: str
    user_id: UserId
    at: Annotated[Rfc3339, msgspec.Meta(description="When the spend was recorded (RFC 3339 UTC, microseconds).")]
    balance_after: DecimalText
    receipt: SpendReceipt

    @classmethod
    def of(cls, spent: Spent) -> Spend:
        spend, receipt = spent.spend, spent.receipt
        signed = receipt.signed
        return cls(
            spend_id=spend.details.spend_id,
            order_id=spend.details.order_id,
            payee=spend.details.payee,
            amount=signed["amount"],
            currency="MC",
            memo=spend.details.memo,
            user_id=spend.user_id,
            at=signed["at"],
            balance_after=f"{spend.balance_after:.2f}",
            receipt=SpendReceipt(
                ReceiptBody(
                    spend_id=signed["spend_id"],
                    order_id=signed["order_id"],
                    payee=signed["payee"],
                    amount=signed["amount"],
                    currency="MC",
                    user_id=signed["user_id"],
                    at=signed["at"],
                ),
                receipt.signature,
                receipt.public_key,
            ),
        )


class LedgerPublicKey(msgspec.Struct):
    public_key: Annotated[PublicKeyHex, msgspec.Meta(description="Signs spend receipts and ledger exports.")]


class Payee(msgspec.Struct):
    payee: SpendName
    balance: DecimalText
    spends: Annotated[int, msgspec.Meta(ge=1, description="How many spends paid this payee.")]


class PayeeList(msgspec.Struct):
    items: Annotated[list[Payee], msgspec.Meta(description="Highest balance first.")]

    @classmethod
    def of(cls, payees: list[PayeeView]) -> PayeeList:
        return cls([Payee(view.payee, f"{view.balance:.2f}", view.spends) for view in payees])


class Debt(msgspec.Struct, omit_defaults=True):
    user_id: UserId
    balance: Annotated[DecimalText, msgspec.Meta(description="Below zero.")]
    since: Annotated[datetime | None, msgspec.Meta(description="When the balance went below zero.")] = None


class DebtList(msgspec.Struct):
    items: Annotated[list[Debt], msgspec.Meta(description="Wallets below zero, deepest first.")]

    @classmethod
    def of(cls, debts: list[DebtView]) -> DebtList:
        return cls([Debt(view.user_id, f"{view.balance:.2f}", view.since) for view in debts])
