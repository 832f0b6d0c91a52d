"""One contract for the read side, run against each adapter: `SqliteQueries` and `AsyncpgQueries` (async, for
handlers) and the synchronous reads beside them, fed by the same projector from the same ledger."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID

import pytest

from adapters.read_side.asyncpg_queries import AsyncpgQueries
from adapters.read_side.postgres import PostgresPlace, PostgresReadModel
from adapters.read_side.sqlite import SqliteReadModel
from application.admin import Receipt
from application.errors import StoreUnavailable
from application.gateways import GatewayEvent, Outcome
from application.paging import Listed, PageQuery, PaymentKey
from application.payments import TopUpOrder
from application.queries import AsyncReadModel, BalanceView, PaymentListing
from application.replay import ledger_events
from application.views import PaymentView, WalletEntry, WalletView
from domain.money import Money
from domain.wallet import Wallet
from entrypoints.bootstrap import Services
from tests.integration.read_side_support import (
    ALICE,
    BOB,
    CAROL,
    Scenario,
    ask,
    caught_up,
    in_a_fresh_loop,
    movements_in_log,
    populate,
    read_side_services,
    table_rows,
)

pytestmark = pytest.mark.integration

Pages = tuple[list[BalanceView], list[BalanceView]]


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


TZS_5000 = Money.of("5000", "TZS")
SECOND_ADMIN = "be" * 32


def listed(services: Services, listing: PaymentListing, limit: int, as_of: int | None = None) -> list[PaymentView]:
    """One page from the top, as of `as_of` (default: the read model's position now)."""
    query: PageQuery[PaymentKey] = PageQuery(projected_position(services) if as_of is None else as_of, None, limit)
    return [entry.item for entry in page(services, listing, query)]


def page(services: Services, listing: PaymentListing, query: PageQuery[PaymentKey]) -> list[Listed[PaymentView]]:
    return ask(services, lambda model: model.payment_page(listing, query))


def pages_with_writes(
    services: Services, listing: PaymentListing, as_of: int, between: Callable[[int], None]
) -> list[Listed[PaymentView]]:
    """Every page of one item as of `as_of`, with `between(pages read so far)` run before each next page."""
    seen: list[Listed[PaymentView]] = []
    after: PaymentKey | None = None
    while rows := page(services, listing, PageQuery(as_of, after, 1)):
        seen.extend(rows)
        after = rows[-1].key
        between(len(seen))
    return seen


def projected_position(services: Services) -> int:
    return ask(services, lambda model: model.position())


def reference(services: Services, payment_id: UUID) -> str:
    return services.ledger.payment(payment_id).reference


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
    assert caught_up(services).payments_of(ALICE) == alices


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

    def queue(limit: int = 100, **filters: Any) -> list[PaymentView]:
        return listed(services, PaymentListing(desk_order=True, **filters), limit)

    everything = as_stored(
        services, s.half_confirmed_bank, s.in_review, s.bobs_confirmed, s.pending, s.failed, s.refunded
    )
    assert queue() == everything
    assert queue(status="pending") == as_stored(services, s.half_confirmed_bank, s.pending)
    assert queue(gateway="bank") == as_stored(services, s.half_confirmed_bank, s.in_review)
    assert queue(status="confirmed", gateway="stripe") == as_stored(services, s.bobs_confirmed)
    assert queue(created_before=review_created) == as_stored(
        services, s.half_confirmed_bank, s.pending, s.failed, s.refunded
    )
    assert queue(created_after=review_created) == as_stored(services, s.in_review, s.bobs_confirmed)
    assert queue(limit=2) == everything[:2]


def test_pages_hold_the_listing_as_of_their_first_page_however_payments_change_between_them(
    services: Services, scenario: Scenario
) -> None:
    s = scenario
    desk = PaymentListing(desk_order=True)
    as_of = projected_position(services)
    before = listed(services, desk, 100, as_of)
    assert [view.payment_id for view in before] == [
        s.half_confirmed_bank,
        s.in_review,
        s.bobs_confirmed,
        s.pending,
        s.failed,
        s.refunded,
    ]

    def between(pages_read: int) -> None:
        if pages_read == 1:  # the transfer just listed is confirmed: it now sorts among the rest, still ahead
            services.admin.confirm(SECOND_ADMIN, s.half_confirmed_bank, Receipt("1000.00", "USD", "line 3"))
            services.payments.initiate(CAROL, TopUpOrder("2000.00", "USD", "bank"))  # a new head of the queue
        if pages_read == 3:  # a payment not listed yet goes to review: it now sorts before the cursor
            paid_less = GatewayEvent("clickpesa", Outcome.PAID, reference(services, s.pending), "cp:1", TZS_5000, {})
            assert services.payments.apply(paid_less) == "needs_review"
        services.read_side.projector.run_once()

    seen = pages_with_writes(services, desk, as_of, between)

    assert [entry.item.payment_id for entry in seen] == [view.payment_id for view in before]
    # Each page shows its payments as they are when it is read: the fourth one's review shows in its place.
    assert [entry.item.status for entry in seen] == [
        "pending",
        "needs_review",
        "confirmed",
        "needs_review",
        "failed",
        "refunded",
    ]
    assert [entry.key.priority for entry in seen] == [2, 1, 0, 0, 0, 0]
    fresh = listed(services, desk, 100)
    assert [view.gateway for view in fresh[:1]] == ["bank"] and fresh[0].user_id == CAROL
    assert {view.payment_id for view in fresh[1:3]} == {s.in_review, s.pending}


def test_a_filtered_page_holds_what_matched_the_filter_as_of_its_first_page(
    services: Services, scenario: Scenario
) -> None:
    pending = PaymentListing(status="pending", desk_order=True)
    as_of = projected_position(services)

    def between(_: int) -> None:
        failed = GatewayEvent("clickpesa", Outcome.FAILED, reference(services, scenario.pending), "cp:2", None, {})
        services.payments.apply(failed)
        services.payments.initiate(ALICE, TopUpOrder("3.00", "USD", "stripe"))
        services.read_side.projector.run_once()

    seen = pages_with_writes(services, pending, as_of, between)

    assert [entry.item.payment_id for entry in seen] == [scenario.half_confirmed_bank, scenario.pending]
    assert [view.payment_id for view in listed(services, pending, 100)][:1] == [scenario.half_confirmed_bank]
    assert scenario.pending not in {view.payment_id for view in listed(services, pending, 100)}


def test_a_users_pages_never_repeat_or_skip_a_payment_while_new_ones_arrive(
    services: Services, scenario: Scenario
) -> None:
    alices = PaymentListing(user_id=ALICE)
    as_of = projected_position(services)
    before = listed(services, alices, 100, as_of)

    def between(_: int) -> None:
        services.payments.initiate(ALICE, TopUpOrder("3.00", "USD", "stripe"))
        services.read_side.projector.run_once()

    seen = pages_with_writes(services, alices, as_of, between)

    assert (
        [entry.item for entry in seen]
        == before
        == as_stored(services, scenario.half_confirmed_bank, scenario.pending, scenario.failed, scenario.refunded)
    )
    assert len(listed(services, alices, 100)) == len(before) * 2  # one new payment after each page


def test_wallet_movements_page_newest_first_by_log_position(services: Services, scenario: Scenario) -> None:
    as_of = projected_position(services)

    async def entries(model: AsyncReadModel) -> tuple[list[Listed[WalletEntry]], ...]:
        first = await model.entry_page(ALICE, PageQuery(as_of, None, 1))
        return first, await model.entry_page(ALICE, PageQuery(as_of, first[-1].key, 5))

    later = services.payments.initiate(ALICE, TopUpOrder("6.00", "USD", "stripe")).payment
    services.payments.apply(
        GatewayEvent("stripe", Outcome.PAID, later.reference, "stripe:later", Money.of("6.00", "USD"), {}, "pi_l")
    )
    services.read_side.projector.run_once()
    first, rest = ask(services, entries)

    assert [(entry.item.kind, entry.item.balance_after) for entry in [*first, *rest]] == [
        ("reversal", Decimal("15.00")),
        ("top_up", Decimal("25.00")),
    ]
    assert first[0].key > rest[0].key
    assert ask(services, lambda model: model.entry_page(CAROL, PageQuery(as_of, None, 5))) == []


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

    assert alice == caught_up(services).wallet_of(ALICE) == wallet_from_the_log(services, ALICE)
    assert (alice.balance, [entry.kind for entry in alice.entries]) == (Decimal("15.00"), ["reversal", "top_up"])
    assert str(alice.balance) == "15.00"
    assert carol == WalletView.empty(CAROL)
    assert (alice_balance, carol_balance) == (BalanceView(ALICE, Decimal("15.00")), BalanceView(CAROL, Decimal("0.00")))


def test_balances_page_by_user(services: Services, scenario: Scenario) -> None:
    async def pages(model: AsyncReadModel) -> Pages:
        return await model.balances(), await model.balances(after_user=ALICE, limit=1)

    balances, after_alice = ask(services, pages)

    assert balances == [BalanceView(ALICE, Decimal("15.00")), BalanceView(BOB, Decimal("5.00"))]
    assert after_alice == [BalanceView(BOB, Decimal("5.00"))]


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


def test_an_unreachable_read_database_is_unavailable_not_an_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    place = PostgresPlace({"host": "127.0.0.1", "port": port, "user": "x", "dbname": "x"}, "s", "e", "c", "a")
    queries = AsyncpgQueries(place)

    async def read(question: Callable[[], Awaitable[object]]) -> None:
        try:
            await question()
        finally:
            await queries.close()

    questions: list[Callable[[], Awaitable[object]]] = [
        queries.position,
        lambda: queries.payments_of(ALICE),
        lambda: queries.balance_of(ALICE),
    ]
    for question in questions:
        with pytest.raises(StoreUnavailable):
            in_a_fresh_loop(partial(read, question))
