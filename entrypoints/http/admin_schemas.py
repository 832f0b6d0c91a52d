"""Request and response bodies of the admin desk."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from application.paging import Page
from application.views import PaymentView
from domain.approval import AdminApproval
from domain.money import MINOR_DIGITS
from domain.payment import HeldEvent
from entrypoints.http.amounts import AmountInput
from entrypoints.http.schemas import DecimalText, NextCursor, Payment, UserId, checked_here

Note = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class ConfirmPayment(msgspec.Struct, forbid_unknown_fields=True):
    """An admin's confirmation of what arrived, or (for a payment in `needs_review`) the amount to credit."""

    received_amount: Annotated[
        AmountInput, msgspec.Meta(description="A decimal string or a JSON number, in the currency's decimal places.")
    ]
    received_currency: Annotated[str, checked_here("Its currency, e.g. USD.", enum=sorted(MINOR_DIGITS))]
    note: (
        Annotated[Note, msgspec.Meta(description="Why; required when resolving a payment in needs_review.")] | None
    ) = None
    credit_received_amount: Annotated[
        bool,
        msgspec.Meta(
            description=(
                "true: credit `received_amount` although it differs from the initiated amount; credits are "
                "received_amount x the rate locked when the payment was initiated (rounded down to 0.01 MC), "
                "and received_currency must be the payment's currency. false (default): a received amount "
                "that differs moves the payment to needs_review. For a payment already in needs_review, "
                "confirming always credits received_amount at the locked rate (this flag is implied)."
            )
        ),
    ] = False


class RejectPayment(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[Note, msgspec.Meta(description="Why the payment is rejected; shown on the payment.")]


class AdminConfirmation(msgspec.Struct):
    """One admin's confirmation that counts now (an admin's later confirmation replaces their earlier one)."""

    admin: Annotated[UserId, msgspec.Meta(description="The confirming admin's public key (hex).")]
    received_amount: DecimalText
    received_currency: str
    credit_received_amount: bool
    note: str | None
    at: datetime

    @classmethod
    def of(cls, approval: AdminApproval) -> AdminConfirmation:
        received = approval.received
        return cls(
            approval.admin,
            str(received.amount),
            received.currency,
            approval.credit_received,
            approval.note,
            approval.at,
        )


class HeldNews(msgspec.Struct):
    """Gateway news about the payment's money that was kept, not applied: an admin must look at it."""

    news: Annotated[str, msgspec.Meta(description="What the gateway said: refunded, disputed, dispute_won, paid.")]
    reason: Annotated[str, msgspec.Meta(description="Why it was not applied.")]
    key: str
    evidence: dict[str, str]
    at: datetime

    @classmethod
    def of(cls, held: HeldEvent) -> HeldNews:
        return cls(held.news, held.reason, held.key, dict(held.evidence), held.at)


class AcknowledgeHeld(msgspec.Struct, forbid_unknown_fields=True):
    note: Annotated[Note, msgspec.Meta(description="What was done about the held news (e.g. refunded at Stripe).")]


class AdminPayment(Payment, kw_only=True):
    """A Payment plus its owner and the maker-checker state."""

    user_id: UserId
    awaiting_admin: Annotated[
        bool, msgspec.Meta(description="A pending bank transfer or a payment in needs_review: an admin must act.")
    ]
    confirmations: Annotated[
        list[AdminConfirmation],
        msgspec.Meta(description="Confirmations so far in this round, one per admin."),
    ]
    confirmations_required: Annotated[
        int, msgspec.Meta(description="Distinct admins who must confirm the same amount before it credits.")
    ]
    held: Annotated[
        list[HeldNews],
        msgspec.Meta(description="Gateway news kept for an admin: refunds before confirmation, a second payment..."),
    ]
    needs_attention: Annotated[bool, msgspec.Meta(description="Some held news is not acknowledged by an admin yet.")]

    @classmethod
    def of_view(cls, view: PaymentView, confirmations_required: int) -> AdminPayment:
        return cls(
            **msgspec.structs.asdict(Payment.of(view)),
            user_id=view.user_id,
            awaiting_admin=view.awaits_admin,
            confirmations=[AdminConfirmation.of(approval) for approval in view.approvals],
            confirmations_required=confirmations_required,
            held=[HeldNews.of(held) for held in view.held],
            needs_attention=view.needs_attention,
        )


class AdminPaymentList(msgspec.Struct):
    items: list[AdminPayment]
    next_cursor: NextCursor

    @classmethod
    def of(cls, page: Page[PaymentView], confirmations_required: int) -> AdminPaymentList:
        return cls([AdminPayment.of_view(view, confirmations_required) for view in page.items], page.next_cursor)
