"""The Payment aggregate: one top-up attempt and its lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, Snapshot, event

from domain.approval import BANK, AdminApproval, Decision, Verdict, decide, latest_by_admin
from domain.errors import (
    AlreadyCredited,
    CurrencyMismatch,
    InvalidAmount,
    NothingToReverse,
    ReasonRequired,
    SelfApproval,
    TransitionNotAllowed,
)
from domain.money import CREDITS, Money, credits, credits_for, share_of
from domain.wallet import CreditMove, Move


class PaymentStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    EXPIRED = "expired"
    REJECTED = "rejected"
    NEEDS_REVIEW = "needs_review"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


SETTLED = frozenset(PaymentStatus) - {PaymentStatus.PENDING}
CREDITED = frozenset({PaymentStatus.CONFIRMED, PaymentStatus.REFUNDED, PaymentStatus.DISPUTED})
TAKEN_BACK = frozenset({"refunded", "disputed"})
# The payment events that move credits in its wallet: the move, the event's field saying how many (None: the
# payment's credits) and the outcome named in the wallet's entry.
WALLET_MOVES: dict[str, tuple[Move, str | None, str]] = {
    "PaymentConfirmed": (Move.TOP_UP, None, "confirmed"),
    "PaymentRefunded": (Move.REVERSE, "credits_reversed", "refunded"),
    "PaymentDisputed": (Move.REVERSE, "credits_reversed", "disputed"),
    "PaymentDisputeWon": (Move.REINSTATE, "credits_reinstated", "dispute_won"),
}

Evidence = dict[str, str]


@dataclass(frozen=True)
class HeldEvent:
    """Gateway news about a payment's money that was kept, not applied: an admin must look at it."""

    news: str  # what the gateway said happened: "refunded", "disputed", "paid" ...
    reason: str  # why it was not applied
    key: str
    evidence: Evidence
    at: datetime


class PaymentSnapshot(Snapshot):
    """A payment's state at one version. JSON gives its status back as text: made a PaymentStatus again."""

    def mutate(self, _: None) -> Payment:
        payment = super().mutate(None)
        if not isinstance(payment, Payment):
            raise TypeError(f"{self.topic} is not a payment's snapshot")
        payment.status = PaymentStatus(payment.status)
        return payment


class Payment(Aggregate):
    """A user's attempt to buy credits through one gateway, at a locked rate."""

    Snapshot = PaymentSnapshot

    @staticmethod
    def create_id(payment_id: UUID) -> UUID:
        return payment_id

    @event("PaymentInitiated")
    def __init__(
        self,
        payment_id: UUID,
        user_id: str,
        gateway: str,
        reference: str,
        amount: Decimal,
        currency: str,
        rate: Decimal,
        credits: Decimal,
    ) -> None:
        self.user_id = user_id
        self.gateway = gateway
        self.reference = reference
        self.amount = amount
        self.currency = currency
        self.rate = rate
        self.credits = credits
        self.status = PaymentStatus.PENDING
        self.payment_url: str | None = None
        self.checkout_id: str | None = None
        self.paid_object: str | None = None  # the gateway's object that paid it (Stripe: the payment intent)
        self.confirmed_by: str | None = None  # the key of the gateway event (or admin round) that confirmed it
        self.instructions: dict[str, str] = {}
        self.handled_keys: set[str] = set()
        self.status_reason: str | None = None
        self.refunded: Money | None = None  # cumulative, in the currency the gateway charged
        self.refund_share = Decimal("0.00")  # the credits that `refunded` stands for
        self.disputes: set[str] = set()  # the gateway's disputes of the charge, opened ...
        self.disputes_won: set[str] = set()  # ... and won (in either order)
        self.credits_reversed = Decimal("0.00")  # taken back now, net of what won disputes gave back
        self.held: list[HeldEvent] = []  # money news an admin must see: never applied blindly
        self.held_acknowledged = 0  # how many of `held` an admin has acknowledged
        self.admin_approvals: list[AdminApproval] = []
        self.approval_round = 0

    @classmethod
    def initiate(
        cls, payment_id: UUID, user_id: str, gateway: str, reference: str, price: Money, rate: Decimal
    ) -> Payment:
        """Start a payment; the credits it will buy are fixed now, at `rate`."""
        return cls(
            payment_id=payment_id,
            user_id=user_id,
            gateway=gateway,
            reference=reference,
            amount=price.amount,
            currency=price.currency,
            rate=rate,
            credits=credits_for(price, rate).amount,
        )

    @property
    def price(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def is_pending(self) -> bool:
        return self.status is PaymentStatus.PENDING

    def has_handled(self, key: str) -> bool:
        return key in self.handled_keys

    def open_checkout(self, payment_url: str, checkout_id: str, instructions: dict[str, str]) -> None:
        """Record where the payer pays, and what they were told (e.g. bank details to quote)."""
        self._require(PaymentStatus.PENDING, action="open a checkout for")
        self._open_checkout(payment_url, checkout_id, instructions)

    @event("CheckoutOpened")
    def _open_checkout(self, payment_url: str, checkout_id: str, instructions: dict[str, str]) -> None:
        self.payment_url = payment_url
        self.checkout_id = checkout_id
        self.instructions = instructions

    def confirm(self, paid: Money, key: str, evidence: Evidence, paid_object: str | None = None) -> None:
        """The gateway says the full price was paid (through `paid_object`, its own object, when it names one):
        the payment now credits the wallet."""
        self._require_never_credited()
        self._require(PaymentStatus.PENDING, action="confirm")
        if paid != self.price:
            raise TransitionNotAllowed(f"paid {paid} differs from the price {self.price}")
        self._confirm(paid.amount, paid.currency, key, evidence, paid_object)

    @event("PaymentConfirmed")
    def _confirm(
        self, paid_amount: Decimal, paid_currency: str, key: str, evidence: Evidence, paid_object: str | None = None
    ) -> None:
        self.status = PaymentStatus.CONFIRMED
        self.paid_object = paid_object
        self.confirmed_by = key
        self.handled_keys.add(key)

    def fail(self, reason: str, key: str, evidence: Evidence) -> None:
        self._require(PaymentStatus.PENDING, action="fail")
        self._fail(reason, key, evidence)

    @event("PaymentFailed")
    def _fail(self, reason: str, key: str, evidence: Evidence) -> None:
        self.status = PaymentStatus.FAILED
        self.status_reason = reason
        self.handled_keys.add(key)

    def expire(self, key: str, evidence: Evidence) -> None:
        self._require(PaymentStatus.PENDING, action="expire")
        self._expire(key, evidence)

    @event("PaymentExpired")
    def _expire(self, key: str, evidence: Evidence) -> None:
        self.status = PaymentStatus.EXPIRED
        self.handled_keys.add(key)

    def flag_for_review(self, reason: str, paid: Money | None, key: str, evidence: Evidence) -> None:
        """Money arrived that does not match what was initiated: no credit until an admin decides."""
        if self.status not in (PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED):
            raise TransitionNotAllowed(f"cannot flag a {self.status} payment for review")
        self._flag_for_review(
            reason,
            None if paid is None else paid.amount,
            None if paid is None else paid.currency,
            key,
            evidence,
        )

    @event("PaymentFlaggedForReview")
    def _flag_for_review(
        self,
        reason: str,
        paid_amount: Decimal | None,
        paid_currency: str | None,
        key: str,
        evidence: Evidence,
    ) -> None:
        self.status = PaymentStatus.NEEDS_REVIEW
        self.status_reason = reason
        self.handled_keys.add(key)

    @property
    def takes_reversals(self) -> bool:
        """Whether refunds and disputes apply to this payment now: only once it credited its wallet."""
        return self.status in CREDITED

    def refund(self, refunded: Money, charged: Money, key: str, evidence: Evidence) -> Money:
        """The gateway has refunded `refunded` of `charged` so far: answers the credits to take back now."""
        self._require_reversible("refund")
        if self.refunded is not None and refunded.currency == self.refunded.currency and refunded <= self.refunded:
            raise TransitionNotAllowed(f"{self.refunded} was already refunded; {refunded} adds nothing")
        share = share_of(Money(self.credits, CREDITS), refunded, charged).amount
        change = self._target(share, self.disputes, self.disputes_won) - self.credits_reversed
        self._require_can_take_back(change)
        self._refund(refunded.amount, refunded.currency, change, key, evidence, share)
        return Money(change, CREDITS)

    @event("PaymentRefunded")
    def _refund(
        self,
        refunded_amount: Decimal,
        refunded_currency: str,
        credits_reversed: Decimal,
        key: str,
        evidence: Evidence,
        refund_share: Decimal | None = None,  # absent from refunds recorded before disputes could be won
    ) -> None:
        self.refunded = Money(refunded_amount, refunded_currency)
        self.refund_share = self.refund_share + credits_reversed if refund_share is None else refund_share
        self._reversed_by(credits_reversed, key)

    def dispute(self, key: str, evidence: Evidence, dispute_id: str = "") -> Money:
        """The payer disputed the charge: every credit not yet taken back is taken back now (unless the
        dispute was already reported won)."""
        self._require_reversible("dispute")
        change = (
            self._target(self.refund_share, self.disputes | {dispute_id}, self.disputes_won) - self.credits_reversed
        )
        self._require_can_take_back(change)
        self._dispute(change, key, evidence, dispute_id)
        return Money(change, CREDITS)

    @event("PaymentDisputed")
    def _dispute(self, credits_reversed: Decimal, key: str, evidence: Evidence, dispute_id: str = "") -> None:
        self.disputes.add(dispute_id)
        self._reversed_by(credits_reversed, key)

    def win_dispute(self, dispute_id: str, key: str, evidence: Evidence) -> Money:
        """The gateway decided a dispute for us: the credits it took come back. Answers the credits given back."""
        self._require_reversible("win a dispute of")
        if not dispute_id:
            raise TransitionNotAllowed("a won dispute must name the dispute")
        given_back = self.credits_reversed - self._target(
            self.refund_share, self.disputes, self.disputes_won | {dispute_id}
        )
        self._require_can_give_back(given_back)
        self._win_dispute(dispute_id, given_back, key, evidence)
        return Money(given_back, CREDITS)

    @event("PaymentDisputeWon")
    def _win_dispute(self, dispute_id: str, credits_reinstated: Decimal, key: str, evidence: Evidence) -> None:
        self.disputes_won.add(dispute_id)
        self._reversed_by(-credits_reinstated, key)

    def hold(self, news: str, reason: str, key: str, evidence: Evidence) -> None:
        """Keep gateway news (`news`: what the gateway says happened, e.g. "refunded") about this payment's money
        that may not be applied as it stands: an admin must see it."""
        self.trigger_event(self.GatewayEventHeld, news=news, reason=reason, key=key, evidence=evidence)

    @property
    def refunded_while_unsettled(self) -> bool:
        """Money was given back at the gateway before the payment credited: it must never credit now."""
        return any(held.news in TAKEN_BACK for held in self.held)

    @property
    def needs_attention(self) -> bool:
        """Held gateway news that no admin has acknowledged yet."""
        return len(self.held) > self.held_acknowledged

    def acknowledge_held(self, admin: str, note: str) -> None:
        """An admin has seen the held news (and acted at the gateway where needed): it leaves the desk."""
        if not self.needs_attention:
            raise TransitionNotAllowed("this payment holds no gateway news awaiting an admin")
        if not note.strip():
            raise ReasonRequired("acknowledging held gateway news needs a note saying what was done")
        self._acknowledge_held(admin, note.strip(), len(self.held))

    @event("HeldEventsAcknowledged")
    def _acknowledge_held(self, admin: str, note: str, count: int) -> None:
        self.held_acknowledged = count

    class GatewayEventHeld(Aggregate.Event):
        news: str
        reason: str
        key: str
        evidence: Evidence

        def apply(self, aggregate: Aggregate) -> None:
            if not isinstance(aggregate, Payment):
                raise TypeError(f"{type(self).__name__} applies to a Payment")
            aggregate.held.append(HeldEvent(self.news, self.reason, self.key, dict(self.evidence), self.timestamp))
            aggregate.handled_keys.add(self.key)

    def _target(self, refund_share: Decimal, disputes: set[str], won: set[str]) -> Decimal:
        """What stands reversed, from the facts alone: all of it while a dispute is open, else the refunded share."""
        return self.credits if disputes - won else refund_share

    def _reversed_by(self, change: Decimal, key: str) -> None:
        self.credits_reversed += change
        self.status = (
            PaymentStatus.DISPUTED
            if self.disputes - self.disputes_won
            else PaymentStatus.REFUNDED
            if self.refunded is not None
            else PaymentStatus.CONFIRMED
        )
        self.handled_keys.add(key)

    def _require_can_take_back(self, change: Decimal) -> None:
        left = self.credits - self.credits_reversed
        if not 0 <= change <= left:
            raise NothingToReverse(f"payment {self.id} has {left} MC left to take back, not {change}")

    def _require_can_give_back(self, given_back: Decimal) -> None:
        if not 0 <= given_back <= self.credits_reversed:
            raise NothingToReverse(f"payment {self.id} has {self.credits_reversed} MC taken back, not {given_back}")

    def _require_never_credited(self) -> None:
        if self.confirmed_by is not None:
            raise AlreadyCredited(f"payment {self.id} was already credited (confirmed by {self.confirmed_by})")

    def wallet_moves(self) -> list[CreditMove]:
        """The credits this payment's unsaved events move in its wallet, in order. The wallet takes them in the
        same save, so the rules the payment keeps are the wallet's: credited once (one confirmation), never more
        taken back than credited, never more given back than taken. Every unsaved event counts: take them
        once per save, after the last decision about the payment."""
        moves = (self._wallet_move(event) for event in self.pending_events)
        return [move for move in moves if move is not None and move.amount.amount > 0]

    def _wallet_move(self, pending: object) -> CreditMove | None:
        known = WALLET_MOVES.get(type(pending).__name__)
        if known is None:
            return None
        move, field, outcome = known
        amount = self.credits if field is None else getattr(pending, field)
        reason = "" if move is Move.TOP_UP else f"{outcome}: {getattr(pending, 'key', '')}"
        return CreditMove(move, self.id, self.gateway, credits(max(amount, Decimal(0))), reason)

    def _require_reversible(self, action: str) -> None:
        if not self.takes_reversals:
            raise TransitionNotAllowed(f"cannot {action} a {self.status} payment")

    def ignore(self, reason: str, key: str, evidence: Evidence) -> None:
        """Record a valid gateway event that may not change this payment (e.g. a late expiry)."""
        self._ignore(reason, key, evidence)

    @event("GatewayEventIgnored")
    def _ignore(self, reason: str, key: str, evidence: Evidence) -> None:
        self.handled_keys.add(key)

    # The admin desk: maker-checker confirmation of bank transfers, and resolution of reviews.

    @property
    def awaits_admin(self) -> bool:
        """A pending bank transfer, or a payment in review: only admins move it on."""
        return self.status is PaymentStatus.NEEDS_REVIEW or (self.is_pending and self.gateway == BANK)

    @property
    def approvals(self) -> list[AdminApproval]:
        """The admin confirmations that count now, one per admin (earlier rounds ended in review).

        The owner's own confirmation never counts, even one recorded before the rule refused it.
        """
        counted = (a for a in self.admin_approvals if a.round == self.approval_round and a.admin != self.user_id)
        return latest_by_admin(counted)

    def confirm_by_admin(
        self, admin: str, received: Money, credit_received: bool, note: str | None, required: int
    ) -> Decision:
        """An admin states what arrived; the maker-checker rule then credits, waits or sends it to review.

        In review, the stated amount is the one to credit (at the locked rate) and the note says why.
        """
        self._require_admin_decision("confirm")
        self._require_never_credited()
        self._require_not_owner(admin)
        in_review = self.status is PaymentStatus.NEEDS_REVIEW
        if self.refunded_while_unsettled:
            raise TransitionNotAllowed(
                "the gateway refunded or disputed this payment while it awaited an admin: it can only be rejected"
            )
        if in_review and not (note and note.strip()):
            raise ReasonRequired("resolving a payment in review needs a note saying why it is credited")
        if in_review or credit_received:
            self._require_creditable(received)
        self.trigger_event(
            self.ReviewCreditApprovedByAdmin if in_review else self.BankTransferConfirmedByAdmin,
            admin=admin,
            received_amount=received.amount,
            received_currency=received.currency,
            credit_received_amount=in_review or credit_received,
            note=note,
            round=self.approval_round,
        )
        decision = decide(self.price, self.approvals, required)
        if decision.verdict is Verdict.CREDIT and decision.amount is not None:
            self._credit_approved(decision.amount, decision.reason)
        elif decision.verdict is Verdict.REVIEW:
            self._send_to_review(decision.reason, [approval.admin for approval in self.approvals])
        return decision

    def reject_by_admin(self, admin: str, reason: str) -> None:
        """An admin refuses the payment: it never credits."""
        self._require_admin_decision("reject")
        if not reason.strip():
            raise ReasonRequired("a rejection needs a reason")
        self._reject(admin, reason.strip())

    @event("PaymentRejected")
    def _reject(self, admin: str, reason: str) -> None:
        self.status = PaymentStatus.REJECTED
        self.status_reason = reason

    def _credit_approved(self, received: Money, reason: str) -> None:
        admins = [approval.admin for approval in self.approvals]
        self._approve_credit(received.amount, received.currency, credits_for(received, self.rate).amount, admins)
        evidence = {"admins": ",".join(admins), "decision": reason}
        self._confirm(received.amount, received.currency, f"admin:round-{self.approval_round}", evidence)

    @event("CreditApprovedByAdmins")
    def _approve_credit(
        self, received_amount: Decimal, received_currency: str, credits: Decimal, admins: list[str]
    ) -> None:
        self.credits = credits

    @event("PaymentSentToReview")
    def _send_to_review(self, reason: str, admins: list[str]) -> None:
        self.status = PaymentStatus.NEEDS_REVIEW
        self.status_reason = reason
        self.approval_round += 1

    def _require_admin_decision(self, action: str) -> None:
        if self.awaits_admin:
            return
        if self.is_pending:
            raise TransitionNotAllowed(f"a pending {self.gateway} payment is settled by its gateway, not by an admin")
        raise TransitionNotAllowed(
            f"cannot {action} this payment: it is {self.status}; only pending bank transfers and payments in "
            "needs_review await an admin"
        )

    def _require_not_owner(self, admin: str) -> None:
        if admin == self.user_id:
            raise SelfApproval(
                "an admin never approves money for their own wallet: this payment is yours, another admin must "
                "confirm it"
            )

    def _require_creditable(self, received: Money) -> None:
        if received.currency != self.currency:
            raise CurrencyMismatch(
                f"credits are computed at the payment's locked {self.currency} rate: state the amount in {self.currency}"
            )
        if credits_for(received, self.rate).amount == 0:
            raise InvalidAmount(f"{received} buys no credits at the locked rate")

    class AdminApprovalGiven(Aggregate.Event):
        admin: str
        received_amount: Decimal
        received_currency: str
        credit_received_amount: bool
        note: str | None
        round: int

        def apply(self, aggregate: Aggregate) -> None:
            if not isinstance(aggregate, Payment):
                raise TypeError(f"{type(self).__name__} applies to a Payment")
            received = Money(self.received_amount, self.received_currency)
            aggregate.admin_approvals.append(
                AdminApproval(self.admin, received, self.credit_received_amount, self.note, self.timestamp, self.round)
            )

    class BankTransferConfirmedByAdmin(AdminApprovalGiven):
        """An admin saw the transfer arrive, for the amount stated."""

    class ReviewCreditApprovedByAdmin(AdminApprovalGiven):
        """An admin approves crediting a payment in review with the amount they verified."""

    def _require(self, status: PaymentStatus, action: str) -> None:
        if self.status is not status:
            raise TransitionNotAllowed(f"cannot {action} a {self.status} payment")

    def __repr__(self) -> str:
        return f"Payment({self.id}, {self.reference}, {self.status})"
