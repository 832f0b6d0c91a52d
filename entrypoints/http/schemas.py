"""Request and response bodies at the HTTP edge, one Struct per operation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar.params import KwargDefinition

from application.gateways import GatewayOffer
from application.identity import Challenge, Principal, Session
from application.views import PaymentView, WalletView

BANK_FIELDS = ("bank_name", "account_name", "account_number", "swift_code", "reference")
# What an amount may be in a request: decimal text in ASCII digits, or a JSON number (read exactly, never as a
# float). The domain checks the text again (Money.of); the schema says it for clients.
AMOUNT_SCHEMA = {"oneOf": [{"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"}, {"type": "number"}]}


def amount_field(description: str) -> KwargDefinition:
    return KwargDefinition(description=description, schema_extra=AMOUNT_SCHEMA)


def require_amount_value(field: str, value: object) -> None:
    """Raised in a body's __post_init__, this is a 400 like any other field of the wrong JSON type."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError(f"{field} must be a decimal string or a JSON number, not {type(value).__name__}")


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


class GatewayInfo(msgspec.Struct, omit_defaults=True):
    name: str
    currencies: list[str]
    min_amount: dict[str, str]
    demo: bool
    rates: Annotated[
        dict[str, str],
        msgspec.Meta(description="MC credited per unit of each currency now (CREDIT_RATES), for estimates."),
    ]
    max_amount: Annotated[
        dict[str, str],
        msgspec.Meta(
            description="The most one payment may be in each currency, where the gateway has a limit "
            "(Stripe: 8 digits in its units); more is a 422 and nothing is recorded. Absent without a limit."
        ),
    ] = msgspec.field(default_factory=dict)

    @classmethod
    def of(cls, offer: GatewayOffer, rates: Mapping[str, Decimal]) -> GatewayInfo:
        minimums = {currency: str(amount) for currency, amount in offer.min_amounts.items()}
        maximums = {currency: str(amount) for currency, amount in offer.max_amounts.items()}
        offered_rates = {currency: format(rates[currency], "f") for currency in offer.currencies if currency in rates}
        return cls(offer.name, list(offer.currencies), minimums, offer.demo, offered_rates, maximums)


class InitiatePayment(msgspec.Struct):
    """`amount` is a decimal string or a JSON number, with at most the currency's minor digits."""

    amount: Annotated[
        Any,
        amount_field(
            "A decimal string of ASCII digits with an optional fraction (\"25.00\"; no spaces, '_', '+' or "
            "exponent), or a JSON number; never more fraction digits than the currency has."
        ),
    ]
    currency: str
    gateway: str
    email: str | None = None

    def __post_init__(self) -> None:
        require_amount_value("amount", self.amount)


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


class PaymentList(msgspec.Struct):
    items: list[Payment]


TransactionType = Literal["top_up", "reversal", "reinstatement"]
TRANSACTION_TYPES: dict[str, TransactionType] = {
    "top_up": "top_up",
    "reversal": "reversal",
    "reinstatement": "reinstatement",
}


class WalletTransaction(msgspec.Struct):
    type: Annotated[
        TransactionType,
        msgspec.Meta(description="reinstatement: credits a won dispute gave back after its reversal"),
    ]
    amount: str
    payment_id: UUID
    at: datetime
    balance_after: str


class Wallet(msgspec.Struct):
    user_id: str
    balance: str
    currency: str
    transactions: list[WalletTransaction]

    @classmethod
    def of(cls, view: WalletView) -> Wallet:
        transactions = [
            WalletTransaction(
                type=TRANSACTION_TYPES[entry.kind],
                amount=str(entry.amount),
                payment_id=entry.payment_id,
                at=entry.at,
                balance_after=str(entry.balance_after),
            )
            for entry in view.entries
        ]
        return cls(view.user_id, str(view.balance), "MC", transactions)


class WebhookReceipt(msgspec.Struct):
    received: bool
    result: str


class Health(msgspec.Struct):
    status: str
