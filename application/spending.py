"""Spending credits: a wallet owner's signed spend, checked, decided on the writer's commit path, answered with a
receipt the ledger's key signs (API.md, "Spending credits"; ADR 47).

The checks run cheapest and most final first: what the request says (422), whose key signed it (bad-signature), how
fresh the signature is, then, in the process's one group writer against the store's current state, whether its order
was used already (the same signed body answers the recorded spend; another body is a 409) and whether the balance
covers it. A spend signed out of the window is looked up before it is refused (stale-signature): a late retry of a
recorded spend is still answered with it (ADR 69).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from application.amounts import stated_amount
from application.audit.chain import rfc3339
from application.errors import (
    BadSignature,
    InsufficientCredits,
    OrderAlreadyUsed,
    SigningKeyMissing,
    StaleSignature,
    StoreUnavailable,
)
from application.ledger import Ledger
from application.metrics import NoMetrics
from application.ports import Clock, LedgerSigner, Metrics, SignatureVerifier
from application.projection import Projector
from application.unit_of_work import UnitOfWork
from application.views import DebtView, PayeeView, SpendDetails, SpendView
from application.writer import GroupWriter
from domain.canonical import canonical_json
from domain.indexes import SpendRecord
from domain.money import CREDITS, credits
from domain.spend import InsufficientFunds, SpendOrder, receipt_body, signed_moment
from domain.wallet import Wallet

SIGNED_AGO = timedelta(minutes=5)  # a signature older than this is stale
SIGNED_AHEAD = timedelta(minutes=1)  # a client's clock may run this far ahead of ours


@dataclass(frozen=True)
class SignedSpend:
    """A spend as the request states it."""

    amount: Decimal | str | int
    payee: str
    order_id: str
    memo: str
    signed_at: str
    signature: str


@dataclass(frozen=True)
class Receipt:
    """What the ledger's key signed for a recorded spend: a payee checks it with the public key alone."""

    signed: dict[str, str]
    signature: str
    public_key: str


@dataclass(frozen=True)
class Spent:
    spend: SpendView
    receipt: Receipt
    replayed: bool  # True when the same signed spend came again: the recorded one is answered


class SpendQueries(Protocol):
    """Read side: spends, payees and debts as the read model holds them."""

    def spend(self, spend_id: UUID) -> SpendView | None:
        """A recorded spend (None: unknown, or not projected yet)."""

    def payees(self) -> list[PayeeView]:
        """Every payee's balance and number of spends, highest balance first."""

    def debts(self) -> list[DebtView]:
        """Wallets below zero, deepest first."""


@dataclass(frozen=True)
class SpendDecision:
    """What the writer decides: an order whose signature was verified."""

    order: SpendOrder
    signature: str


@dataclass(frozen=True)
class Recorded:
    spend: SpendView


@dataclass(frozen=True)
class RecordedBefore:
    """The order's record exists: the same spend (`same`), or another that used the order id."""

    same: bool


@dataclass(frozen=True)
class NotCovered:
    balance: Decimal


SpendOutcome = Recorded | RecordedBefore | NotCovered


class SpendDecisions:
    """Deciding a spend against a unit of work: the writer's decision for `SpendDecision` items."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics or NoMetrics()

    def preload(self, work: UnitOfWork, decisions: Sequence[SpendDecision]) -> None:
        """A group's spend records and wallets, read together."""
        orders = [decision.order for decision in decisions]
        work.preload([*(order.spend_id for order in orders), *(Wallet.create_id(order.user_id) for order in orders)])

    def decide(self, work: UnitOfWork, decision: SpendDecision) -> SpendOutcome:
        """Stage the spend and its record; a conflict re-decides from fresh reads, the record or the balance seen anew."""
        order = decision.order
        record = work.find(SpendRecord, order.spend_id)
        if record is not None:
            return RecordedBefore(same=record.fingerprint == order.fingerprint)
        wallet = work.wallet_of(order.user_id)
        if wallet is None:
            return NotCovered(Decimal("0.00"))
        try:
            wallet.spend(order, decision.signature)
        except InsufficientFunds:
            return NotCovered(wallet.balance)
        claim = SpendRecord(
            user_id=order.user_id, payee=order.payee, order_id=order.order_id, fingerprint=order.fingerprint
        )
        work.stage(wallet, claim)
        work.after_save(lambda: self._metrics.credits_spent(order.amount.amount))
        details = SpendDetails(order.spend_id, order.payee, order.order_id, order.memo, order.signed_at)
        return Recorded(SpendView(order.user_id, order.amount.amount, wallet.modified_on, wallet.balance, details))


class Receipts:
    """Receipts signed by the ledger key (LEDGER_SIGNING_KEY); without one, nothing is spent."""

    def __init__(self, signer: LedgerSigner | None) -> None:
        self._signer = signer

    @property
    def public_key(self) -> str:
        return self._required().public_key

    def check(self) -> None:
        """SigningKeyMissing unless a key signs receipts."""
        self._required()

    def of(self, spend: SpendView) -> Receipt:
        """The same receipt, byte for byte, however often it is asked for."""
        signer = self._required()
        body = receipt_body(spend.details.spend_id, order_of(spend), rfc3339(spend.at))
        return Receipt(body, signer.sign(canonical_json(body).encode()), signer.public_key)

    def _required(self) -> LedgerSigner:
        if self._signer is None:
            raise SigningKeyMissing("spending needs LEDGER_SIGNING_KEY: every spend is answered with a signed receipt")
        return self._signer


def order_of(spend: SpendView) -> SpendOrder:
    details = spend.details
    return SpendOrder(
        spend.user_id, details.payee, details.order_id, credits(spend.amount), details.memo, details.signed_at
    )


class SpendService:
    def __init__(
        self,
        ledger: Ledger,
        writer: GroupWriter,
        signatures: SignatureVerifier,
        clock: Clock,
        receipts: Receipts,
        spends: SpendQueries,
    ) -> None:
        self._ledger = ledger
        self._writer = writer
        self._signatures = signatures
        self._clock = clock
        self._receipts = receipts
        self._spends = spends

    def spend(self, user_id: str, signed: SignedSpend) -> Spent:
        """Record the spend if its owner signed it, recently, and the balance covers it; answered after the commit."""
        self._receipts.check()  # refused before anything is recorded: no spend without a receipt
        amount = stated_amount("amount", signed.amount, CREDITS)
        order = SpendOrder(user_id, signed.payee, signed.order_id, amount, signed.memo, signed.signed_at)
        if not self._signatures.verify(user_id, order.message(), signed.signature):
            raise BadSignature("the signature does not verify against your key over this spend's canonical message")
        stale = self._staleness(order)
        if stale is not None:
            # Signed long ago, it may still be a spend recorded then and sent again: answered as recorded, not refused.
            record = self._ledger.find(SpendRecord, order.spend_id)
            if record is None:
                raise stale
            return self._recorded_before(order, RecordedBefore(same=record.fingerprint == order.fingerprint))
        # A fresh spend goes straight to the writer: its decision finds the spend's record if it was recorded already.
        outcome: SpendOutcome = self._writer.apply(SpendDecision(order, signed.signature))
        if isinstance(outcome, RecordedBefore):
            return self._recorded_before(order, outcome)
        if isinstance(outcome, NotCovered):
            raise InsufficientCredits(
                f"the balance of {outcome.balance:.2f} {CREDITS} does not cover {amount.amount:.2f} {CREDITS}",
                balance=f"{outcome.balance:.2f}",
                amount=f"{amount.amount:.2f}",
            )
        return Spent(outcome.spend, self._receipts.of(outcome.spend), replayed=False)

    @property
    def public_key(self) -> str:
        """The key that signs receipts (SigningKeyMissing without one)."""
        return self._receipts.public_key

    def spend_of(self, user_id: str, spend_id: UUID) -> Spent | None:
        """A recorded spend with its receipt, if it is this user's."""
        spend = self._spends.spend(spend_id)
        if spend is None or spend.user_id != user_id:
            return None
        return Spent(spend, self._receipts.of(spend), replayed=True)

    def payees(self) -> list[PayeeView]:
        return self._spends.payees()

    def debts(self) -> list[DebtView]:
        return self._spends.debts()

    def _recorded_before(self, order: SpendOrder, found: RecordedBefore) -> Spent:
        if not found.same:
            raise OrderAlreadyUsed(
                f"order {order.order_id} was already used with payee {order.payee} for another spend"
            )
        spend = self._spends.spend(order.spend_id)
        if spend is None:  # recorded, but the read model has not caught up within its wait
            raise StoreUnavailable("the spend is recorded but cannot be read back yet")
        return Spent(spend, self._receipts.of(spend), replayed=True)

    def _staleness(self, order: SpendOrder) -> StaleSignature | None:
        """The refusal of a spend signed out of the window, None for a fresh one."""
        now = self._clock.now()
        moment = signed_moment(order.signed_at)
        if now - SIGNED_AGO <= moment <= now + SIGNED_AHEAD:
            return None
        return StaleSignature(
            f"signed_at {order.signed_at} is more than 5 minutes old or more than 1 minute ahead of the server's "
            "clock: sign the spend again with the current time",
            server_time=rfc3339(now),
        )


class CaughtUpSpends:
    """SpendQueries for synchronous callers: the read model is caught up with the log first (briefly bounded)."""

    def __init__(self, projector: Projector, reads: SpendQueries, timeout: float) -> None:
        self._projector = projector
        self._reads = reads
        self._timeout = timeout

    def spend(self, spend_id: UUID) -> SpendView | None:
        self._projector.catch_up(self._timeout)
        return self._reads.spend(spend_id)

    def payees(self) -> list[PayeeView]:
        self._projector.catch_up(self._timeout)
        return self._reads.payees()

    def debts(self) -> list[DebtView]:
        self._projector.catch_up(self._timeout)
        return self._reads.debts()
