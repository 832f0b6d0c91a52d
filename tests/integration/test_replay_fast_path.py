"""Replay reads the wallet rows straight from the store: the same balances as the mapper's whole events, always."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Generator, Sequence
from contextlib import closing
from datetime import datetime
from decimal import Decimal

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from adapters import wallet_moves
from adapters.persistence import persistence_env
from application import replay
from application.errors import StoreUnavailable, UnreadableEvent
from application.ledger import Ledger
from application.ports import WalletMove, WalletMoves
from application.replay import (
    BALANCE_TOPICS,
    INITIATED,
    OPENED,
    TOPPED_UP,
    WALLET_TOPICS,
    fold_accounts,
    fold_balances,
    ledger_events,
    mapped_moves,
    replay_accounts,
    replay_balances,
)
from domain.indexes import PaymentReference
from domain.money import Money
from domain.payment import Payment
from domain.spend import SpendOrder
from domain.wallet import Wallet

pytestmark = pytest.mark.integration

STORES = ["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def ledger(request: pytest.FixtureRequest) -> Ledger:
    url: str = request.getfixturevalue(request.param)
    built = Ledger(env=persistence_env(url))
    request.addfinalizer(built.close)
    return built


GATEWAYS = ("stripe", "clickpesa", "bank")
PAYEES = ("shop.example", "seller:7", "market.example:order-desk")


def random_history(ledger: Ledger, rng: random.Random, changes: int = 600, unnamed: float = 0.0) -> dict[str, Decimal]:
    """Wallets topped up through payments of every gateway, reversed, reinstated and spent from at random
    (into debt too), saved a few aggregates at a time among other aggregates' events; the balances the wallet
    aggregates hold at the end. `unnamed`: the share of moves recorded as before moves named their gateway."""
    wallets = [Wallet(user_id=f"{rng.getrandbits(256):064x}") for _ in range(rng.randint(3, 12))]
    gateways: dict[uuid.UUID, str] = {}
    credited: list[tuple[Wallet, uuid.UUID]] = []
    amounts: dict[uuid.UUID, Decimal] = {}  # what each payment credited ...
    taken_back: dict[uuid.UUID, Decimal] = {}  # ... and what stands reversed of it (the payment's own rule)
    pending: list[object] = list(wallets)
    for number in range(changes):
        wallet, action = rng.choice(wallets), rng.random()
        if action < 0.5 or not credited:
            payment_id = uuid.UUID(int=rng.getrandbits(128))
            amount = credits(rng)
            price = Money(amount.amount, "USD")
            gateway = rng.choice(GATEWAYS)
            ledger.save(Payment.initiate(payment_id, wallet.user_id, gateway, "MCR1", price, Decimal(1)))  # first
            wallet.top_up(payment_id, amount, gateway=gateway)
            gateways[payment_id] = gateway
            recorded_unnamed(wallet, rng.random() < unnamed)
            credited.append((wallet, payment_id))
            amounts[payment_id], taken_back[payment_id] = amount.amount, Decimal(0)
        elif action < 0.65:
            if wallet.balance > 0:
                order = SpendOrder(
                    wallet.user_id,
                    rng.choice(PAYEES),
                    f"o{number}",
                    part_of(wallet.balance, rng),
                    "",
                    "2026-12-01T12:00:00Z",
                )
                wallet.spend(order, "00" * 64)  # replay reads the move, verify checks signatures
        else:
            wallet, payment_id = rng.choice(credited)
            left, taken = amounts[payment_id] - taken_back[payment_id], taken_back[payment_id]
            if action < 0.85 and left > 0:
                part = part_of(left, rng)
                wallet.reverse(payment_id, part, "refunded", gateway=gateways[payment_id])
                recorded_unnamed(wallet, rng.random() < unnamed)
                taken_back[payment_id] += part.amount
            elif taken > 0:
                part = part_of(taken, rng)
                wallet.reinstate(payment_id, part, "dispute won", gateway=gateways[payment_id])
                recorded_unnamed(wallet, rng.random() < unnamed)
                taken_back[payment_id] -= part.amount
        pending.append(wallet)
        if rng.random() < 0.2:
            pending.append(PaymentReference(reference=f"MCR{number:011d}", payment_id=uuid.uuid4()))
        if rng.random() < 0.3:
            ledger.save(*{id(aggregate): aggregate for aggregate in pending}.values())  # type: ignore[arg-type]
            pending = []
    ledger.save(*{id(aggregate): aggregate for aggregate in pending}.values())  # type: ignore[arg-type]
    return {wallet.user_id: wallet.balance for wallet in wallets}


def recorded_unnamed(wallet: Wallet, unnamed: bool) -> None:
    """When `unnamed`, the wallet's last move as a release before ADR 65 recorded it: without its gateway."""
    if unnamed:
        vars(wallet.pending_events[-1]).pop("gateway")


def credits(rng: random.Random) -> Money:
    return Money(cents(rng.randint(1, 10**9)), "MC")


def part_of(amount: Decimal, rng: random.Random) -> Money:
    return Money(amount if rng.random() < 0.5 else cents(rng.randint(1, int(amount * 100))), "MC")


def cents(count: int) -> Decimal:
    return (Decimal(count) / 100).quantize(Decimal("0.01"))


def as_compared(move: WalletMove) -> WalletMove:
    """The wallet's id as a UUID: the rows hold it as text (SQLite without dashes), the mapper as a UUID."""
    return move._replace(wallet=uuid.UUID(str(move.wallet)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replay_from_the_rows_equals_replay_of_the_mapped_events(ledger: Ledger, seed: int) -> None:
    held = random_history(ledger, random.Random(seed))
    assert isinstance(ledger.recorder, WalletMoves)  # the store's own reading, not the fallback

    replayed = replay_balances(ledger)

    mapped = fold_balances(mapped_moves(ledger))
    assert list(replayed.items()) == list(mapped.items())  # the same balances, in the same order
    assert replayed == held
    kinds = {move.topic.rpartition(".")[2] for move in mapped_moves(ledger)}
    assert kinds == {
        "PaymentInitiated", "WalletOpened", "CreditsToppedUp", "CreditsReversed", "CreditsReinstated", "CreditsSpent"
    }  # fmt: skip
    assert any(getattr(event, "balance_after", 0) < 0 for _, event in ledger_events(ledger))  # debts, on the way


def test_every_move_read_from_the_rows_is_the_mapped_event(ledger: Ledger) -> None:
    random_history(ledger, random.Random(4), changes=200)
    assert isinstance(ledger.recorder, WalletMoves)

    from_rows = [as_compared(move) for move in ledger.recorder.wallet_moves(BALANCE_TOPICS)]

    assert from_rows == [as_compared(move) for move in mapped_moves(ledger)]
    assert all(isinstance(move.amount, Decimal) for move in from_rows if move.user_id is None)


def test_the_moves_up_to_a_position_are_the_mapped_events_up_to_it(ledger: Ledger) -> None:
    random_history(ledger, random.Random(8), changes=80)
    assert isinstance(ledger.recorder, WalletMoves)
    positions = [move.position for move in mapped_moves(ledger)]

    for stop in [positions[0], *random.Random(9).sample(positions, 5), positions[-1], positions[-1] + 100]:
        from_rows = [as_compared(move) for move in ledger.recorder.wallet_moves(BALANCE_TOPICS, stop)]
        assert from_rows == [as_compared(move) for move in mapped_moves(ledger, stop)]
        assert max(move.position for move in from_rows) == max(p for p in positions if p <= stop)


def test_balances_as_of_any_moment_agree(ledger: Ledger) -> None:
    random_history(ledger, random.Random(5), changes=120)
    moments = sorted({datetime.fromisoformat(move.timestamp) for move in mapped_moves(ledger)})

    for moment in [moments[0], *random.Random(6).sample(moments, 8), moments[-1]]:
        assert replay_balances(ledger, moment) == fold_balances(mapped_moves(ledger), moment)


def test_every_account_replays_from_the_rows_as_from_the_mapped_events_and_adds_up_to_zero(ledger: Ledger) -> None:
    held = random_history(ledger, random.Random(10), changes=300)
    spent: dict[str, Decimal] = {}
    for _, event in ledger_events(ledger):
        if isinstance(event, Wallet.CreditsSpent):
            spent[event.payee] = spent.get(event.payee, Decimal(0)) + event.amount

    accounts = replay_accounts(ledger)

    mapped = fold_accounts(mapped_moves(ledger))
    assert (accounts.wallets, accounts.payees, accounts.gateways) == (mapped.wallets, mapped.payees, mapped.gateways)
    assert (accounts.wallets, accounts.payees) == (held, spent)
    assert set(accounts.gateways) == set(GATEWAYS)
    assert accounts.balanced
    assert sum(accounts.gateways.values()) == -sum([*held.values(), *spent.values()])


def topics_read(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The topics of each reading of the store's moves, as replay asks for them."""
    assert isinstance(ledger.recorder, WalletMoves)
    asked: list[tuple[str, ...]] = []
    reading = ledger.recorder.wallet_moves

    def wallet_moves(topics: Sequence[str], stop: int | None = None) -> Generator[WalletMove]:
        asked.append(tuple(topics))
        return reading(topics, stop)

    monkeypatch.setattr(ledger.recorder, "wallet_moves", wallet_moves)
    return asked


def test_a_ledger_whose_moves_name_their_gateway_replays_from_the_wallets_events_alone(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = random_history(ledger, random.Random(12), changes=300)
    asked = topics_read(ledger, monkeypatch)

    accounts = replay_accounts(ledger)

    assert asked == [WALLET_TOPICS]  # no PaymentInitiated read
    mapped = fold_accounts(mapped_moves(ledger))  # each payment's gateway as its PaymentInitiated names it
    assert (accounts.wallets, accounts.payees, accounts.gateways) == (mapped.wallets, mapped.payees, mapped.gateways)
    assert accounts.wallets == held
    assert set(accounts.gateways) == set(GATEWAYS)
    assert accounts.balanced


@pytest.mark.parametrize("unnamed", [0.02, 0.5, 1.0])
def test_a_ledger_with_moves_recorded_before_they_named_their_gateway_is_read_with_its_payments(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, unnamed: float
) -> None:
    """Moves that name no gateway among others that do: replay reads everything again with the payments'
    `PaymentInitiated`, and every account comes out as from the mapped events."""
    held = random_history(ledger, random.Random(13), changes=300, unnamed=unnamed)
    asked = topics_read(ledger, monkeypatch)
    reported: list[tuple[int, int]] = []

    accounts = replay_accounts(ledger, progress=lambda reached, head: reported.append((reached, head)))

    assert asked == [WALLET_TOPICS, BALANCE_TOPICS]
    mapped = fold_accounts(mapped_moves(ledger))
    assert (accounts.wallets, accounts.payees, accounts.gateways) == (mapped.wallets, mapped.payees, mapped.gateways)
    assert accounts.wallets == held
    assert accounts.balanced
    assert reported[-1] == (ledger.head(), ledger.head())


@pytest.mark.parametrize("unnamed", [0.0, 0.5])
def test_a_store_without_its_own_reading_replays_through_the_mapper_alike(unnamed: float) -> None:
    """The in-memory store has no `wallet_moves`: replay decodes whole events, first the wallets' alone, then, at a
    move that names no gateway, with the payments' too."""
    ledger = Ledger(env=persistence_env("memory:"))
    try:
        held = random_history(ledger, random.Random(17), changes=200, unnamed=unnamed)
        assert not isinstance(ledger.recorder, WalletMoves)

        accounts = replay_accounts(ledger)

        mapped = fold_accounts(mapped_moves(ledger))
        assert (accounts.wallets, accounts.payees, accounts.gateways) == (
            mapped.wallets, mapped.payees, mapped.gateways
        )  # fmt: skip
        assert accounts.wallets == held
        assert accounts.balanced
    finally:
        ledger.close()


def test_a_move_naming_another_gateway_than_its_payments_is_unreadable(ledger: Ledger) -> None:
    random_history(ledger, random.Random(14), changes=40, unnamed=1.0)  # read with the payments' PaymentInitiated
    opened = next(move for move in mapped_moves(ledger) if move.topic == OPENED)
    initiated = next(move for move in mapped_moves(ledger) if move.topic == INITIATED)
    other = next(gateway for gateway in GATEWAYS if gateway != initiated.gateway)
    state = STATE % PAID % str(initiated.payment_id).encode()
    state = state[:-1] + b',"gateway":"%s"}' % other.encode()
    ledger.recorder.insert_events([StoredEvent(uuid.UUID(str(opened.wallet)), 10**6, TOPPED_UP, state)])

    with pytest.raises(UnreadableEvent, match=f"names {other}, its payment {initiated.gateway}"):
        replay_accounts(ledger)


def test_a_move_of_a_payment_never_initiated_that_names_a_gateway(ledger: Ledger) -> None:
    """Read with the payments' `PaymentInitiated` (some moves name no gateway), it is unreadable, as before. On a
    ledger whose moves all name their gateway, replay reads no `PaymentInitiated` and folds it: `mcpay ledger
    verify` is what refuses it there (ADR 65)."""
    random_history(ledger, random.Random(15), changes=40, unnamed=1.0)
    opened = next(move for move in mapped_moves(ledger) if move.topic == OPENED)
    orphan = uuid.uuid4().hex
    state = (STATE % PAID % orphan.encode())[:-1] + b',"gateway":"stripe"}'
    ledger.recorder.insert_events([StoredEvent(uuid.UUID(str(opened.wallet)), 10**6, TOPPED_UP, state)])

    with pytest.raises(UnreadableEvent, match=f"payment {orphan}, which no PaymentInitiated event initiated"):
        replay_accounts(ledger)


def test_on_a_ledger_of_named_moves_replay_takes_the_gateway_a_move_names(ledger: Ledger) -> None:
    random_history(ledger, random.Random(16), changes=40)
    opened = next(move for move in mapped_moves(ledger) if move.topic == OPENED)
    before = replay_accounts(ledger)
    state = (STATE % PAID % uuid.uuid4().hex.encode())[:-1] + b',"gateway":"elsewhere"}'
    ledger.recorder.insert_events([StoredEvent(uuid.UUID(str(opened.wallet)), 10**6, TOPPED_UP, state)])

    after = replay_accounts(ledger)

    assert after.gateways["elsewhere"] == Decimal("-12.50")
    assert after.wallets[str(opened.user_id)] == before.wallets[str(opened.user_id)] + Decimal("12.50")
    assert after.balanced


STATE = b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-01-01T00:00:00+00:00"},"amount":%s}'
PAID = b'{"_type_":"decimal_str","_data_":"12.50"},"payment_id":{"_type_":"uuid_hex","_data_":"%s"}'
UNREADABLE = {  # whether the event's wallet was opened, its state, and what replay says of it
    "amount not in the library's encoding": (True, STATE % b'"12.50"', "event's state"),
    "amount under another transcoding's name": (
        True,
        STATE % b'{"_type_":"decimal","_data_":"12.50"}',
        "event's state: Invalid enum value 'decimal'",
    ),
    "an amount that is not a finite number": (
        True,
        STATE % b'{"_type_":"decimal_str","_data_":"Infinity"}',
        "event's amount is not a finite number",
    ),
    "payment_id under another transcoding's name": (
        True,
        STATE % b'{"_type_":"decimal_str","_data_":"12.50"},"payment_id":{"_type_":"uuid","_data_":"x"}',
        "event's state: Invalid enum value 'uuid'",
    ),
    "a wallet never opened": (False, STATE % PAID % uuid.uuid4().hex.encode(), "which no WalletOpened event opened"),
    "a payment never initiated": (
        True,
        STATE % PAID % uuid.uuid4().hex.encode(),
        "which no PaymentInitiated event initiated",
    ),
}


@pytest.mark.parametrize("case", UNREADABLE)
def test_an_unreadable_wallet_event_is_an_error_and_frees_the_store(ledger: Ledger, case: str) -> None:
    random_history(ledger, random.Random(7), changes=20)
    opened, state, said = UNREADABLE[case]
    wallet = next(move.wallet for move in mapped_moves(ledger) if move.topic == OPENED) if opened else uuid.uuid4()
    ledger.recorder.insert_events([StoredEvent(uuid.UUID(str(wallet)), 10**6, TOPPED_UP, state)])

    with pytest.raises(UnreadableEvent, match=said):
        replay_balances(ledger)

    if isinstance(ledger.recorder, PostgresApplicationRecorder):  # no transaction left open on the events table
        table = f'"{ledger.recorder.datastore.schema}".{ledger.recorder.events_table_name}'
        with ledger.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE NOWAIT")


@pytest.mark.parametrize("rows_a_fetch", [1, 7])
def test_moves_read_a_few_rows_a_fetch_are_the_mapped_events_and_a_reader_may_stop_early(
    ledger: Ledger, rows_a_fetch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many pages (fetched ahead of the decoding on PostgreSQL): the same moves; a reader that stops after a few
    leaves no fetch running and no transaction open."""
    monkeypatch.setattr(wallet_moves, "ROWS_A_FETCH", rows_a_fetch)
    random_history(ledger, random.Random(11), changes=60)
    assert isinstance(ledger.recorder, WalletMoves)

    from_rows = [as_compared(move) for move in ledger.recorder.wallet_moves(BALANCE_TOPICS)]
    assert from_rows == [as_compared(move) for move in mapped_moves(ledger)]

    with closing(ledger.recorder.wallet_moves(BALANCE_TOPICS)) as moves:
        assert [as_compared(next(moves)) for _ in range(3)] == from_rows[:3]
    assert not any(thread.name == "mcpay-wallet-moves" for thread in threading.enumerate())
    if isinstance(ledger.recorder, PostgresApplicationRecorder):  # no transaction left open on the events table
        table = f'"{ledger.recorder.datastore.schema}".{ledger.recorder.events_table_name}'
        with ledger.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE NOWAIT")


@pytest.mark.postgres
def test_a_store_lost_in_the_middle_of_a_replay_is_unavailable_not_a_driver_error(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection reading the moves is cut after the first few: the replay ends in the application's
    `StoreUnavailable` (a 503 for the admin desk), not psycopg's own error, and leaves no reading thread behind."""
    monkeypatch.setattr(wallet_moves, "ROWS_A_FETCH", 1)
    monkeypatch.setattr(replay, "PROGRESS_EVERY", 1)
    ledger = Ledger(env=persistence_env(postgres_url))
    try:
        random_history(ledger, random.Random(13), changes=40)
        recorder = ledger.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)

        def cut_the_reader(reached: int, head: int) -> None:
            with recorder.datastore.transaction(commit=True) as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND query LIKE %s",
                    ("%wallet_moves%",),
                )

        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            replay_accounts(ledger, progress=cut_the_reader)
        assert not any(thread.name == "mcpay-wallet-moves" for thread in threading.enumerate())
    finally:
        ledger.close()
