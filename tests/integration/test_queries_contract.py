"""One contract for the read side, run against each adapter: `SqliteQueries` and `AsyncpgQueries` (async, for
handlers) and the synchronous reads beside them, fed by the same projector from the same ledger."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from uuid import UUID

import pytest

from adapters.read_side.postgres import PostgresReadModel
from adapters.read_side.sqlite import SqliteReadModel
from application.payments import TopUpOrder
from application.queries import AsyncReadModel, BalanceView, LedgerEntryView
from application.replay import ledger_events
from application.views import PaymentView, WalletEntry, WalletView
from domain.wallet import Wallet
from entrypoints.bootstrap import Services
from tests.integration.read_side_support import (
    ALICE,
    BOB,
    CAROL,
    Scenario,
    ask,
    movements_in_log,
    populate,
    read_side_services,
    table_rows,
)

pytestmark = pytest.mark.integration

Pages = tuple[list[BalanceView], list[BalanceView], list[LedgerEntryView], list[LedgerEntryView]]


KINDS = {"CreditsToppedUp": "top_up", "CreditsReversed": "reversal", "CreditsReinstated": "reinstatement"}


def wallet_from_the_log(services: Services, user_id: str) -> WalletView:
    """The wallet's movements read straight from its events, newest first, and its balance from the aggregate."""
    wallet = services.ledger.wallet_of(user_id)
    entries = [
        WalletEntry(KINDS[type(event).__name__], event.amount, event.payment_id, event.timestamp, event.balance_after)
        for _, event in ledger_events(services.ledger)
        if event.originator_id == Wallet.create_id(user_id) and type(event).__name__ in KINDS
    ]
    return WalletView(user_id, wallet.balance if wallet else Decimal("0.00"), tuple(reversed(entries)))


@pytest.fixture
def services(store_url: str) -> Iterator[Services]:
    built = read_side_services(store_url)
    yield built
    built.close()


@pytest.fixture
def scenario(services: Services) -> Scenario:
    made = populate(services)
    services.read_side.projector.run_once()
    return made


def as_stored(services: Services, *payment_ids: UUID) -> list[PaymentView]:
    return [PaymentView.of(services.ledger.payment(payment_id)) for payment_id in payment_ids]


def reads(services: Services) -> SqliteReadModel | PostgresReadModel:
    store = services.read_side.projector.store
    assert isinstance(store, SqliteReadModel | PostgresReadModel)
    return store


def test_a_users_payments_are_listed_newest_first_exactly_as_their_aggregates_stand(
    services: Services, scenario: Scenario
) -> None:
    alices = as_stored(services, scenario.half_confirmed_bank, scenario.pending, scenario.failed, scenario.refunded)

    async def lists(model: AsyncReadModel) -> tuple[list[PaymentView], ...]:
        return await model.payments_of(ALICE), await model.payments_of(BOB), await model.payments_of(CAROL)

    assert ask(services, lists) == (alices, as_stored(services, scenario.bobs_confirmed, scenario.in_review), [])
    assert services.payments.payments_of(ALICE) == alices


def test_one_payment_is_found_as_projected_and_an_unknown_one_is_none(services: Services, scenario: Scenario) -> None:
    async def found(model: AsyncReadModel) -> tuple[PaymentView | None, PaymentView | None]:
        return await model.payment(scenario.half_confirmed_bank), await model.payment(scenario.pending)

    half, pending = ask(services, found)

    assert [half, pending] == as_stored(services, scenario.half_confirmed_bank, scenario.pending)
    assert half is not None and half.awaits_admin and [a.received.amount for a in half.approvals] == [Decimal(1000)]
    assert dict(half.instructions)["reference"] == half.reference
    assert ask(services, lambda model: model.payment(UUID(int=1))) is None


def test_the_admin_queue_puts_transfers_awaiting_confirmation_first_then_reviews_then_the_rest(
    services: Services, scenario: Scenario
) -> None:
    s = scenario
    review_created = as_stored(services, s.in_review)[0].created_at

    async def queues(model: AsyncReadModel) -> list[list[PaymentView]]:
        return [
            await model.admin_queue(),
            await model.admin_queue(status="pending"),
            await model.admin_queue(gateway="bank"),
            await model.admin_queue(status="confirmed", gateway="stripe"),
            await model.admin_queue(created_before=review_created),
            await model.admin_queue(limit=2),
        ]

    everything = as_stored(
        services, s.half_confirmed_bank, s.in_review, s.bobs_confirmed, s.pending, s.failed, s.refunded
    )
    assert ask(services, queues) == [
        everything,
        as_stored(services, s.half_confirmed_bank, s.pending),
        as_stored(services, s.half_confirmed_bank, s.in_review),
        as_stored(services, s.bobs_confirmed),
        as_stored(services, s.half_confirmed_bank, s.pending, s.failed, s.refunded),
        everything[:2],
    ]
    assert services.admin.payments() == everything


def test_payments_pending_too_long_are_listed_oldest_first(services: Services, scenario: Scenario) -> None:
    now = as_stored(services, scenario.bobs_confirmed)[0].updated_at

    assert reads(services).pending_since(now) == as_stored(services, scenario.pending, scenario.half_confirmed_bank)
    assert reads(services).pending_since(as_stored(services, scenario.pending)[0].created_at) == []


def test_a_wallet_is_its_balance_and_its_movements_newest_first(services: Services, scenario: Scenario) -> None:
    async def wallets(model: AsyncReadModel) -> tuple[WalletView, WalletView, BalanceView, BalanceView]:
        return (
            await model.wallet_of(ALICE),
            await model.wallet_of(CAROL),
            await model.balance_of(ALICE),
            await model.balance_of(CAROL),
        )

    alice, carol, alice_balance, carol_balance = ask(services, wallets)

    assert alice == services.payments.wallet_of(ALICE) == wallet_from_the_log(services, ALICE)
    assert (alice.balance, [entry.kind for entry in alice.entries]) == (Decimal("15.00"), ["reversal", "top_up"])
    assert str(alice.balance) == "15.00"
    assert carol == WalletView.empty(CAROL)
    assert (alice_balance, carol_balance) == (BalanceView(ALICE, Decimal("15.00")), BalanceView(CAROL, Decimal("0.00")))


def test_balances_page_by_user_and_credit_movements_page_by_log_position(
    services: Services, scenario: Scenario
) -> None:
    async def pages(model: AsyncReadModel) -> Pages:
        movements = await model.ledger_page(0, 10)
        return (
            await model.balances(),
            await model.balances(after_user=ALICE, limit=1),
            movements,
            await model.ledger_page(movements[0].position, 1),
        )

    balances, after_alice, movements, second = ask(services, pages)

    assert balances == [BalanceView(ALICE, Decimal("15.00")), BalanceView(BOB, Decimal("5.00"))]
    assert after_alice == [BalanceView(BOB, Decimal("5.00"))]
    assert [(m.user_id, m.kind, m.amount, m.balance_after) for m in movements] == [
        (ALICE, "top_up", Decimal("25.00"), Decimal("25.00")),
        (ALICE, "reversal", Decimal("10.00"), Decimal("15.00")),
        (BOB, "top_up", Decimal("5.00"), Decimal("5.00")),
    ]
    assert second == movements[1:2]


def test_projecting_again_changes_nothing_and_a_rebuild_from_zero_reproduces_every_row(
    services: Services, scenario: Scenario, store_url: str
) -> None:
    live = table_rows(store_url)

    assert services.read_side.projector.run_once() == 0
    assert table_rows(store_url) == live
    assert len(live["read_wallet_entries"]) == movements_in_log(services) == 3
    assert services.read_side.projector.rebuild() == len(list(ledger_events(services.ledger)))
    assert table_rows(store_url) == live


def test_the_position_reached_is_the_logs_head_and_new_events_are_behind_it(
    services: Services, scenario: Scenario
) -> None:
    async def progress(model: AsyncReadModel) -> tuple[int, int]:
        return await model.position(), await model.head()

    assert ask(services, progress) == (services.ledger.recorder.max_notification_id(),) * 2
    services.payments.initiate(CAROL, TopUpOrder("3.00", "USD", "stripe"))
    position, head = ask(services, progress)
    assert position < head == services.ledger.recorder.max_notification_id()
