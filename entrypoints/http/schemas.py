"""Request and response bodies at the HTTP edge, one Struct per operation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from application.gateways import GatewayOffer
from application.identity import Challenge, Principal, Session
from application.paging import Page
from application.reading import WalletPage
from application.views import PaymentView
from domain.wallet import WalletEntry

BANK_FIELDS = ("bank_name", "account_name", "account_number", "swift_code", "reference")


class ChallengeRequest(msgspec.Struct):
    public_key: str


class ChallengeResponse(msgspec.Struct):
    challenge: str
    expires_at: datetime

    @classmethod
    def of(cls, challenge: Challenge) -> ChallengeResponse:
        return cls(challenge.challenge, challenge.expires_at)


class SessionRequest(msgspec.Struct):
    public_key: str
    challenge: str
    signature: str


class SessionResponse(msgspec.Struct):
    token: str
    expires_at: datetime
    user_id: str

    @classmethod
    def of(cls, session: Session) -> SessionResponse:
        return cls(session.token, session.expires_at, session.user_id)


class Me(msgspec.Struct):
    user_id: str
    public_key: str
    roles: list[str]

    @classmethod
    def of(cls, principal: Principal) -> Me:
        return cls(principal.user_id, principal.public_key, list(principal.roles))


class GatewayInfo(msgspec.Struct):
    name: str
    currencies: list[str]
    min_amount: dict[str, str]
    demo: bool
    rates: Annotated[
        dict[str, str],
        msgspec.Meta(description="MC credited per unit of each currency now (CREDIT_RATES), for estimates."),
    ]

    @classmethod
    def of(cls, offer: GatewayOffer, rates: Mapping[str, Decimal]) -> GatewayInfo:
        minimums = {currency: str(amount) for currency, amount in offer.min_amounts.items()}
        offered_rates = {currency: format(rates[currency], "f") for currency in offer.currencies if currency in rates}
        return cls(offer.name, list(offer.currencies), minimums, offer.demo, offered_rates)


class InitiatePayment(msgspec.Struct):
    """`amount` is a decimal string or a JSON number, with at most the currency's minor digits."""

    amount: Decimal
    currency: str
    gateway: str
    email: str | None = None


class BankDetails(msgspec.Struct):
    bank_name: str
    account_name: str
    account_number: str
    swift_code: str
    reference: str


class Payment(msgspec.Struct, omit_defaults=True):
    payment_id: UUID
    reference: str
    gateway: str
    status: str
    amount: str
    currency: str
    credits: str
    payment_url: str | None
    created_at: datetime
    updated_at: datetime
    bank_details: BankDetails | None = None
    status_reason: str | None = None

    @classmethod
    def of(cls, view: PaymentView) -> Payment:
        bank = None
        if view.gateway == "bank" and all(field in view.instructions for field in BANK_FIELDS):
            bank = BankDetails(**{field: view.instructions[field] for field in BANK_FIELDS})
        return cls(
            payment_id=view.payment_id,
            reference=view.reference,
            gateway=view.gateway,
            status=view.status,
            amount=str(view.amount),
            currency=view.currency,
            credits=str(view.credits),
            payment_url=view.payment_url,
            created_at=view.created_at,
            updated_at=view.updated_at,
            bank_details=bank,
            status_reason=view.status_reason,
        )


NextCursor = Annotated[
    str | None,
    msgspec.Meta(description="Pass as `cursor` for the next page; null on the last page."),
]


class PaymentList(msgspec.Struct):
    items: list[Payment]
    next_cursor: NextCursor

    @classmethod
    def of(cls, page: Page[PaymentView]) -> PaymentList:
        return cls([Payment.of(view) for view in page.items], page.next_cursor)


class WalletTransaction(msgspec.Struct):
    type: Literal["top_up", "reversal"]
    amount: str
    payment_id: UUID
    at: datetime
    balance_after: str

    @classmethod
    def of(cls, entry: WalletEntry) -> WalletTransaction:
        kind: Literal["top_up", "reversal"] = "top_up" if entry.kind == "top_up" else "reversal"
        return cls(kind, str(entry.amount), entry.payment_id, entry.at, str(entry.balance_after))


class WalletTransactionList(msgspec.Struct):
    items: list[WalletTransaction]
    next_cursor: NextCursor

    @classmethod
    def of(cls, page: Page[WalletEntry]) -> WalletTransactionList:
        return cls([WalletTransaction.of(entry) for entry in page.items], page.next_cursor)


class Wallet(msgspec.Struct):
    user_id: str
    balance: str
    currency: str
    transactions: Annotated[list[WalletTransaction], msgspec.Meta(description="The newest 50, newest first.")]
    next_cursor: Annotated[
        str | None,
        msgspec.Meta(description="Continues `transactions` at GET /api/wallet/transactions?cursor=; null if none."),
    ]

    @classmethod
    def of(cls, wallet: WalletPage) -> Wallet:
        page = WalletTransactionList.of(wallet.transactions)
        return cls(wallet.balance.user_id, str(wallet.balance.balance), "MC", page.items, page.next_cursor)


class WebhookReceipt(msgspec.Struct):
    received: bool
    result: str


class Health(msgspec.Struct):
    status: str
