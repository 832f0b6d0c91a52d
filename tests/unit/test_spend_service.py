"""The spend use case against an in-memory ledger: the order of its checks, idempotency, conflicts, receipts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from nacl.signing import SigningKey, VerifyKey

from adapters.identity import Ed25519Signatures
from adapters.ledger_signing import Ed25519LedgerSigner
from application.errors import BadSignature, InsufficientCredits, OrderAlreadyUsed, SigningKeyMissing, StaleSignature
from application.ledger import Ledger
from application.projection import PaymentFolds, project
from application.spending import (
    NotCovered,
    Receipts,
    RecordedBefore,
    SignedSpend,
    SpendDecision,
    SpendDecisions,
    SpendService,
)
from application.unit_of_work import UnitOfWork
from application.views import DebtView, PayeeView, SpendView
from application.writer import GroupWriter
from domain.errors import DomainError
from domain.indexes import SpendRecord
from domain.money import credits
from domain.spend import SpendOrder
from domain.wallet import Wallet
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.unit

OWNER = SigningKey(b"\x01" * 32)
USER = OWNER.verify_key.encode().hex()
LEDGER_SEED = "5e" * 32
PAYMENT = UUID(int=7)


class FollowingSpends:
    """The SpendQueries port, following the ledger's log through the projection (as the read model does)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._position = 0
        self._folds = PaymentFolds(ledger)
        self._owners: dict[UUID, str] = {}
        self.spends: dict[UUID, SpendView] = {}

    def spend(self, spend_id: UUID) -> SpendView | None:
        page = self._ledger.recorder.select_notifications(self._position, 1000, inclusive_of_start=False)
        if page:
            batch = project(self._ledger, self._folds, self._position, page)
            self._owners.update({opened.wallet_id: opened.user_id for opened in batch.wallets})
            for moved in batch.movements:
                entry = moved.entry
                if entry.spend is not None:
                    owner = self._owners[moved.wallet_id]
                    view = SpendView(owner, entry.amount, entry.at, entry.balance_after, entry.spend)
                    self.spends[entry.spend.spend_id] = view
            self._position = batch.end
        return self.spends.get(spend_id)

    def payees(self) -> list[PayeeView]:
        return []

    def debts(self) -> list[DebtView]:
        return []


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def writer(ledger: Ledger) -> Iterator[GroupWriter]:
    built = GroupWriter(ledger, SpendDecisions().decide)
    yield built
    built.close()


@pytest.fixture
def service(ledger: Ledger, writer: GroupWriter, clock: FakeClock) -> SpendService:
    receipts = Receipts(Ed25519LedgerSigner(LEDGER_SEED))
    return SpendService(ledger, writer, Ed25519Signatures(), clock, receipts, FollowingSpends(ledger))


def funded(ledger: Ledger, amount: str) -> None:
    wallet = Wallet(user_id=USER)
    wallet.top_up(PAYMENT, credits(amount), gateway="stripe")
    ledger.save(wallet)


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signed(
    clock: FakeClock,
    amount: str,
    order_id: str = "order-1",
    signer: SigningKey = OWNER,
    changes: dict[str, str] | None = None,
) -> SignedSpend:
    at = clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    fields = {"payee": "shop", "order_id": order_id, "memo": "", "signed_at": at, **(changes or {})}
    message = {"type": "mcpay.spend.v1", "user_id": USER, "amount": amount, "currency": "MC", **fields}
    signature = signer.sign(canonical(message)).signature.hex()
    return SignedSpend(amount, fields["payee"], order_id, fields["memo"], fields["signed_at"], signature)


def balance(ledger: Ledger) -> Decimal:
    wallet = ledger.wallet_of(USER)
    return Decimal("0.00") if wallet is None else wallet.balance


def test_a_covered_spend_moves_the_credits_and_answers_a_receipt_of_the_ledger_key(
    ledger: Ledger, service: SpendService, clock: FakeClock
) -> None:
    funded(ledger, "10.00")

    spent = service.spend(USER, signed(clock, "4.00"))

    assert (spent.replayed, spent.spend.amount, spent.spend.balance_after) == (False, Decimal("4.00"), Decimal("6.00"))
    assert balance(ledger) == Decimal("6.00")
    body = spent.receipt.signed
    assert (
        body["amount"] == "4.00" and body["user_id"] == USER and body["spend_id"] == str(spent.spend.details.spend_id)
    )
    VerifyKey(bytes.fromhex(spent.receipt.public_key)).verify(canonical(body), bytes.fromhex(spent.receipt.signature))
    assert spent.receipt.public_key == Ed25519LedgerSigner(LEDGER_SEED).public_key


# Sent again within the signature's window, a spend is found by the writer's decision; an hour later, stale, by its
# record, read once freshness fails.
AGAIN = pytest.mark.parametrize("later", [timedelta(minutes=1), timedelta(hours=1)], ids=["fresh", "stale"])


@AGAIN
def test_the_same_signed_spend_again_answers_the_recorded_one_with_the_same_receipt(
    ledger: Ledger, service: SpendService, clock: FakeClock, later: timedelta
) -> None:
    funded(ledger, "10.00")
    request = signed(clock, "4.00")
    first = service.spend(USER, request)
    clock.advance(later)

    again = service.spend(USER, request)

    assert again.replayed
    assert (again.spend, again.receipt) == (first.spend, first.receipt)
    assert balance(ledger) == Decimal("6.00")


@AGAIN
def test_an_order_used_again_with_another_body_conflicts_whenever_it_comes(
    ledger: Ledger, service: SpendService, clock: FakeClock, later: timedelta
) -> None:
    funded(ledger, "10.00")
    service.spend(USER, signed(clock, "4.00"))
    clock.advance(later)

    with pytest.raises(OrderAlreadyUsed):
        service.spend(USER, signed(clock, "5.00"))
    assert balance(ledger) == Decimal("6.00")


def test_a_fresh_spend_reads_no_record_before_the_writer_decides_it(
    ledger: Ledger, service: SpendService, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    funded(ledger, "10.00")
    read: list[tuple[str, type]] = []
    find = ledger.find

    def counted(kind: Any, aggregate_id: UUID) -> Any:
        read.append((threading.current_thread().name, kind))
        return find(kind, aggregate_id)

    monkeypatch.setattr(ledger, "find", counted)

    service.spend(USER, signed(clock, "4.00"))
    service.spend(USER, signed(clock, "4.00"))  # the same again, still fresh

    # One round trip to the store less a spend: the writer's decision reads the record (in production with the
    # wallet, in its group's one read; here, without reads ahead, on its own).
    assert ("MainThread", SpendRecord) not in read
    assert ("mcpay-writer", SpendRecord) in read
    assert balance(ledger) == Decimal("6.00")


def test_the_signature_is_checked_before_the_order_is_looked_up(
    ledger: Ledger, service: SpendService, clock: FakeClock
) -> None:
    funded(ledger, "10.00")
    request = signed(clock, "4.00")
    service.spend(USER, request)
    forged = SignedSpend(request.amount, request.payee, request.order_id, request.memo, request.signed_at, "00" * 64)

    with pytest.raises(BadSignature):
        service.spend(USER, forged)
    with pytest.raises(BadSignature):
        service.spend(USER, signed(clock, "1.00", "order-2", signer=SigningKey.generate()))


@pytest.mark.parametrize("shift", [timedelta(minutes=-5, seconds=-1), timedelta(minutes=1, seconds=1)])
def test_a_new_spend_signed_out_of_the_window_is_stale_and_says_the_server_time(
    ledger: Ledger, service: SpendService, clock: FakeClock, shift: timedelta
) -> None:
    funded(ledger, "10.00")
    request = signed(clock, "1.00")
    clock.advance(-shift)

    with pytest.raises(StaleSignature) as refused:
        service.spend(USER, request)
    assert refused.value.details["server_time"].startswith(clock.now().strftime("%Y-%m-%dT%H:%M:%S"))
    assert balance(ledger) == Decimal("10.00")


def test_a_spend_the_balance_does_not_cover_records_nothing(
    ledger: Ledger, service: SpendService, clock: FakeClock
) -> None:
    funded(ledger, "3.00")

    with pytest.raises(InsufficientCredits) as refused:
        service.spend(USER, signed(clock, "3.01"))
    assert refused.value.details == {"balance": "3.00", "amount": "3.01"}
    assert ledger.recorder.max_notification_id() == 2  # the wallet's opening and top-up only


@pytest.mark.parametrize("change", [{"payee": "no spaces"}, {"memo": "m" * 201}, {"signed_at": "soon"}])
def test_a_malformed_spend_is_refused_by_the_domain(
    ledger: Ledger, service: SpendService, clock: FakeClock, change: dict[str, str]
) -> None:
    funded(ledger, "3.00")

    with pytest.raises(DomainError):
        service.spend(USER, signed(clock, "1.00", changes=change))


def test_without_a_ledger_key_nothing_is_spent(ledger: Ledger, writer: GroupWriter, clock: FakeClock) -> None:
    funded(ledger, "3.00")
    service = SpendService(ledger, writer, Ed25519Signatures(), clock, Receipts(None), FollowingSpends(ledger))

    with pytest.raises(SigningKeyMissing):
        service.spend(USER, signed(clock, "1.00"))
    assert balance(ledger) == Decimal("3.00")


def order(clock: FakeClock, amount: str, order_id: str) -> SpendDecision:
    at = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    return SpendDecision(SpendOrder(USER, "shop", order_id, credits(amount), "", at), "sig")


def test_a_balance_changed_by_another_process_is_checked_again_after_the_conflict(
    ledger: Ledger, clock: FakeClock
) -> None:
    funded(ledger, "10.00")
    decide = SpendDecisions().decide
    raced = False

    def decide_while_another_process_spends(work: UnitOfWork, decision: SpendDecision) -> Any:
        nonlocal raced
        outcome = decide(work, decision)
        if not raced:  # after this group read the wallet, another process spends from it first
            raced = True
            elsewhere = UnitOfWork(ledger)
            decide(elsewhere, order(clock, "7.00", "elsewhere"))
            elsewhere.save()
        return outcome

    writer = GroupWriter(ledger, decide_while_another_process_spends)
    assert writer.apply(order(clock, "6.00", "here")) == NotCovered(Decimal("3.00"))
    assert balance(ledger) == Decimal("3.00")
    writer.close()


def test_two_spends_of_one_order_in_one_group_record_it_once(ledger: Ledger, clock: FakeClock) -> None:
    funded(ledger, "10.00")
    work = UnitOfWork(ledger)
    decide = SpendDecisions().decide

    first, second = decide(work, order(clock, "2.00", "same")), decide(work, order(clock, "2.00", "same"))
    work.save()

    assert second == RecordedBefore(same=True)
    assert not isinstance(first, (NotCovered, RecordedBefore))
    assert balance(ledger) == Decimal("8.00")


def test_spends_are_counted_only_once_saved(ledger: Ledger, clock: FakeClock) -> None:
    funded(ledger, "10.00")
    counted: list[Decimal] = []

    class Counting:
        def credits_spent(self, amount: Decimal) -> None:
            counted.append(amount)

    work = UnitOfWork(ledger)
    SpendDecisions(Counting()).decide(work, order(clock, "2.00", "one"))  # type: ignore[arg-type]
    assert counted == []
    work.save()
    assert counted == [Decimal("2.00")]
