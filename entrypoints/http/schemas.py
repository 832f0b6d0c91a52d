"""Request and response bodies at the HTTP edge, one Struct per operation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, cast, get_args
from uuid import UUID

import msgspec

from application.gateways import GatewayOffer
from application.identity import Challenge, Principal, Session
from application.paging import Page
from application.reading import WalletPage
from application.views import PaymentView, WalletEntry
from domain.money import minor_digits
from domain.payment import PaymentStatus
from entrypoints.http.amounts import AmountInput, amount_schema

BANK_FIELDS = ("bank_name", "account_name", "account_number", "swift_code", "reference")
GatewayName = Literal["stripe", "clickpesa", "bank"]
WebhookResult = Literal[
    "confirmed",
    "needs_review",
    "pending",
    "failed",
    "expired",
    "refunded",
    "disputed",
    "dispute_won",
    "held",
    "duplicate",
    "ignored",
    "unmatched",
]
MovementType = Literal["top_up", "reversal", "reinstatement", "spend"]
GATEWAYS: tuple[str, ...] = get_args(GatewayName)  # application.gateways.GATEWAY_NAMES, as a type


def checked_here(description: str | None = None, **schema: Any) -> msgspec.Meta:
    """Schema keywords for what the application checks itself: its refusals are 422s (the decoder's are 400s)."""
    return msgspec.Meta(description=description, extra_json_schema={"extra": schema})


PublicKeyHex = Annotated[str, checked_here("An ed25519 public key: 64 lowercase hex digits.", pattern="^[0-9a-f]{64}$")]
SignatureHex = Annotated[
    str,
    checked_here(
        "The ed25519 signature (128 lowercase hex digits) of the challenge's UTF-8 bytes.", pattern="^[0-9a-f]{128}$"
    ),
]
Amount = Annotated[AmountInput, checked_here(**amount_schema())]
UserId = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$", description="The user's ed25519 public key (hex).")]
DecimalText = Annotated[str, msgspec.Meta(pattern=r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$", examples=["25.00"])]
SpendName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


class ChallengeRequest(msgspec.Struct):
    public_key: PublicKeyHex


class ChallengeResponse(msgspec.Struct):
    challenge: str
    expires_at: datetime

    @classmethod
    def of(cls, challenge: Challenge) -> ChallengeResponse:
        return cls(challenge.challenge, challenge.expires_at)


class SessionRequest(msgspec.Struct):
    public_key: PublicKeyHex
    challenge: Annotated[str, msgspec.Meta(description="The challenge, exactly as POST /api/auth/challenge gave it.")]
    signature: SignatureHex


class SessionResponse(msgspec.Struct):
    token: str
    expires_at: datetime
    user_id: UserId

    @classmethod
    def of(cls, session: Session) -> SessionResponse:
        return cls(session.token, session.expires_at, session.user_id)


class Me(msgspec.Struct):
    user_id: UserId
    public_key: PublicKeyHex
    roles: list[Literal["user", "admin", "auditor"]]

    @classmethod
    def of(cls, principal: Principal) -> Me:
        return cls(principal.user_id, principal.public_key, cast(Any, list(principal.roles)))


class GatewayInfo(msgspec.Struct, omit_defaults=True):
    name: GatewayName
    currencies: list[str]
    min_amount: dict[str, str]
    demo: bool
    rates: Annotated[
        dict[str, str],
        msgspec.Meta(description="MC credited per unit of each currency now (CREDIT_RATES), for estimates."),
    ]
    digits: Annotated[
        dict[str, int],
        msgspec.Meta(
            description="How many decimal places each currency has: an amount may be stated with at most this many "
            "(0: whole numbers only); more is a 422 `/problems/invalid-amount`."
        ),
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
        digits = {currency: minor_digits(currency) for currency in offer.currencies}
        return cls(_gateway(offer.name), list(offer.currencies), minimums, offer.demo, offered_rates, digits, maximums)


class InitiatePayment(msgspec.Struct):
    """`amount` is a decimal string or a JSON number, with at most the currency's minor digits; the schema lists
    each offered gateway's currencies and minimums (GET /api/payments/gateways)."""

    amount: Amount
    currency: str
    gateway: Annotated[str, checked_here(enum=list(GATEWAYS))]
    email: Annotated[str | None, msgspec.Meta(description="The payer's e-mail, passed to the gateway.")] = None


class BankDetails(msgspec.Struct):
    bank_name: str
    account_name: str
    account_number: str
    swift_code: str
    reference: str


class Payment(msgspec.Struct, omit_defaults=True):
    payment_id: UUID
    reference: Annotated[str, msgspec.Meta(pattern="^[A-Z0-9]+$")]
    gateway: GatewayName
    status: PaymentStatus
    amount: DecimalText
    currency: str
    credits: DecimalText
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
            gateway=_gateway(view.gateway),
            status=PaymentStatus(view.status),
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


class WalletTransaction(msgspec.Struct, omit_defaults=True):
    """`payment_id` on a top_up, reversal or reinstatement; `spend_id`, `payee`, `order_id` and `memo` on a spend.
    `balance_after` below zero is a debt (credits reversed after they were spent)."""

    type: MovementType
    amount: DecimalText
    at: datetime
    balance_after: DecimalText
    payment_id: UUID | None = None
    spend_id: UUID | None = None
    payee: SpendName | None = None
    order_id: SpendName | None = None
    memo: str | None = None

    @classmethod
    def of(cls, entry: WalletEntry) -> WalletTransaction:
        kind = cast(MovementType, entry.kind)
        moved = cls(kind, str(entry.amount), entry.at, str(entry.balance_after), entry.payment_id)
        spend = entry.spend
        if spend is None:
            return moved
        return msgspec.structs.replace(
            moved, spend_id=spend.spend_id, payee=spend.payee, order_id=spend.order_id, memo=spend.memo
        )


class WalletTransactionList(msgspec.Struct):
    items: list[WalletTransaction]
    next_cursor: NextCursor

    @classmethod
    def of(cls, page: Page[WalletEntry]) -> WalletTransactionList:
        return cls([WalletTransaction.of(entry) for entry in page.items], page.next_cursor)


class Wallet(msgspec.Struct):
    user_id: UserId
    balance: Annotated[DecimalText, msgspec.Meta(description="Below zero when credits were reversed after spending.")]
    debt: Annotated[DecimalText, msgspec.Meta(description="What the next top-ups pay first: -balance, else 0.00.")]
    currency: str
    transactions: Annotated[list[WalletTransaction], msgspec.Meta(description="The newest 50, newest first.")]
    next_cursor: Annotated[
        str | None,
        msgspec.Meta(description="Continues `transactions` at GET /api/wallet/transactions?cursor=; null if none."),
    ]

    @classmethod
    def of(cls, wallet: WalletPage) -> Wallet:
        page = WalletTransactionList.of(wallet.transactions)
        balance = wallet.balance.balance
        debt = f"{max(-balance, Decimal('0.00')):.2f}"
        return cls(wallet.balance.user_id, str(balance), debt, "MC", page.items, page.next_cursor)


class WebhookReceipt(msgspec.Struct):
    received: bool
    result: Annotated[WebhookResult, msgspec.Meta(description="What the event did to its payment.")]


class Health(msgspec.Struct):
    status: Literal["ok", "ready"]


def _gateway(name: str) -> GatewayName:
    if name not in GATEWAYS:
        raise ValueError(f"no such gateway {name!r}")
    return cast(GatewayName, name)
