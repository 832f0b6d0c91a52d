"""Loads read a snapshot and the events since: the state is exactly the state replayed from the first event."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError
from eventsourcing.popo import POPOAggregateRecorder
from hypothesis import given, settings

from adapters.identity import Ed25519Signatures
from adapters.persistence import persistence_env
from application.audit.service import LedgerAudit
from application.audit.verify import verify_export
from application.ledger import Ledger
from application.replay import check_balances, ledger_events
from tests.audit_support import ALICE, SERVICE_KEY, pay, refund
from tests.snapshot_histories import HISTORIES, History, OftenSnapshotted, Step, check_loads_through_snapshots
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.unit


@settings(max_examples=60, deadline=None)
@given(HISTORIES)
def test_every_aggregate_loaded_through_snapshots_is_its_full_replay(steps: list[Step]) -> None:
    ledger = OftenSnapshotted(env=persistence_env("memory:"))
    history = History(ledger)
    history.play(steps)
    check_loads_through_snapshots(ledger, history.aggregate_ids())
    assert all(check.agrees for check in check_balances(ledger))


def test_a_long_history_loads_from_its_snapshots_and_money_news_survives_them() -> None:
    ledger = OftenSnapshotted(env=persistence_env("memory:"))
    history = History(ledger)
    steps = [Step("paid", 0, 1), Step("paid", 0, 2), Step("refund", 0, 500), Step("dispute", 0, 1)]
    steps += [Step("bank", 0, 1), Step("bank", 0, 2), Step("win", 0, 1), Step("paid", 1, 1), Step("refund", 1, 2500)]
    history.play(steps)
    assert check_loads_through_snapshots(ledger, history.aggregate_ids()) > 0
    payment = ledger.payment(history.cards[0].payment_id)
    assert (payment.status, payment.credits_reversed, len(payment.held)) == ("refunded", Decimal("5.00"), 1)
    assert payment.disputes == payment.disputes_won == {"dp_1"}
    bank = ledger.payment(history.bank)
    assert (bank.status, len(bank.admin_approvals), bank.version) == ("confirmed", 2, 5)  # from its snapshot at 4
    wallet = ledger.wallet_of(history.users[0])
    assert wallet is not None and wallet.balance == Decimal("45.00")  # 25 - 5 refunded + 25 bank - 0 (refunded)


def test_snapshots_stay_out_of_the_log_and_the_export_verifies(ledger: Ledger) -> None:
    history = History(ledger)
    history.play([Step("paid", payment, 1) for payment in range(3)] + [Step("refund", 0, n) for n in range(1, 12)])
    assert ledger.snapshots is not None
    assert list(ledger.snapshots.get(history.cards[0].payment_id))  # the production interval was crossed
    exported = list(LedgerAudit(ledger, SERVICE_KEY, FakeClock()).export())
    assert not [line for line in exported if "Snapshot" in json.loads(line)["type"]]
    assert len(exported) == len(list(ledger_events(ledger))) + 1  # every event of the log, then the signature
    verified = verify_export(exported, SERVICE_KEY.public_key, Ed25519Signatures())
    assert verified.problem is None
    assert verified.balances[history.users[0]] == Decimal("49.89")  # 50 credited, 0.11 refunded


class RefusingRecorder(POPOAggregateRecorder):
    def insert_events(self, stored_events: Any, **kwargs: Any) -> Any:
        raise OperationalError("the snapshot table is out of space")


def test_a_snapshot_that_cannot_be_written_never_fails_the_save_it_follows(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    assert ledger.snapshots is not None
    ledger.snapshots.recorder = RefusingRecorder()
    payments = History(ledger).payments
    view = pay(payments, ALICE, "25.00")
    for cents in range(1, 8):  # the seventh refund is the payment's tenth event: its save takes a snapshot
        refund(payments, view, f"0.0{cents}")
    payment = ledger.payment(view.payment_id)
    assert (payment.version, payment.credits_reversed) == (10, Decimal("0.07"))
    assert ledger.written.position == ledger.recorder.max_notification_id()
    assert f"no snapshot of {view.payment_id} at version 10: OperationalError" in caplog.text
