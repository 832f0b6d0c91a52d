"""Replay reads the wallet rows straight from the store: the same balances as the mapper's whole events, always."""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from decimal import Decimal

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from adapters.persistence import persistence_env
from application.errors import UnreadableEvent
from application.ledger import Ledger
from application.ports import WalletMove, WalletMoves
from application.replay import BALANCE_TOPICS, fold_balances, mapped_moves, replay_balances
from domain.indexes import PaymentReference
from domain.money import Money
from domain.wallet import Wallet

pytestmark = pytest.mark.integration

STORES = ["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def ledger(request: pytest.FixtureRequest) -> Ledger:
    url: str = request.getfixturevalue(request.param)
    built = Ledger(env=persistence_env(url))
    request.addfinalizer(built.close)
    return built


def random_history(ledger: Ledger, rng: random.Random, changes: int = 600) -> dict[str, Decimal]:
    """Wallets topped up, reversed and reinstated at random, saved a few aggregates at a time among other
    aggregates' events; the balances the wallet aggregates hold at the end."""
    wallets = [Wallet(user_id=f"{rng.getrandbits(256):064x}") for _ in range(rng.randint(3, 12))]
    credited: list[tuple[Wallet, uuid.UUID]] = []
    amounts: dict[uuid.UUID, Decimal] = {}  # what each payment credited ...
    taken_back: dict[uuid.UUID, Decimal] = {}  # ... and what stands reversed of it (the payment's own rule)
    pending: list[object] = list(wallets)
    for number in range(changes):
        wallet, action = rng.choice(wallets), rng.random()
        if action < 0.6 or not credited:
            payment_id = uuid.UUID(int=rng.getrandbits(128))
            amount = credits(rng)
            wallet.top_up(payment_id, amount)
            credited.append((wallet, payment_id))
            amounts[payment_id], taken_back[payment_id] = amount.amount, Decimal(0)
        else:
            wallet, payment_id = rng.choice(credited)
            left, taken = amounts[payment_id] - taken_back[payment_id], taken_back[payment_id]
            if action < 0.85 and left > 0:
                part = part_of(left, rng)
                wallet.reverse(payment_id, Money(part, "MC"), "refunded")
                taken_back[payment_id] += part
            elif taken > 0:
                part = part_of(taken, rng)
                wallet.reinstate(payment_id, Money(part, "MC"), "dispute won")
                taken_back[payment_id] -= part
        pending.append(wallet)
        if rng.random() < 0.2:
            pending.append(PaymentReference(reference=f"MCR{number:011d}", payment_id=uuid.uuid4()))
        if rng.random() < 0.3:
            ledger.save(*{id(aggregate): aggregate for aggregate in pending}.values())  # type: ignore[arg-type]
            pending = []
    ledger.save(*{id(aggregate): aggregate for aggregate in pending}.values())  # type: ignore[arg-type]
    return {wallet.user_id: wallet.balance for wallet in wallets}


def credits(rng: random.Random) -> Money:
    return Money(cents(rng.randint(1, 10**9)), "MC")


def part_of(amount: Decimal, rng: random.Random) -> Decimal:
    return amount if rng.random() < 0.5 else cents(rng.randint(1, int(amount * 100)))


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
    assert kinds == {"WalletOpened", "CreditsToppedUp", "CreditsReversed", "CreditsReinstated"}


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


STATE = b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-01-01T00:00:00+00:00"},"amount":%s}'
UNREADABLE = {
    "amount not in the library's encoding": (False, STATE % b'"12.50"'),
    "a wallet never opened": (True, STATE % b'{"_type_":"decimal_str","_data_":"12.50"}'),
}


@pytest.mark.parametrize("case", UNREADABLE)
def test_an_unreadable_wallet_event_is_an_error_and_frees_the_store(ledger: Ledger, case: str) -> None:
    random_history(ledger, random.Random(7), changes=20)
    unopened, state = UNREADABLE[case]
    wallet = uuid.uuid4() if unopened else next(move.wallet for move in mapped_moves(ledger))
    ledger.recorder.insert_events([StoredEvent(uuid.UUID(str(wallet)), 10**6, BALANCE_TOPICS[1], state)])

    with pytest.raises(UnreadableEvent):
        replay_balances(ledger)

    if isinstance(ledger.recorder, PostgresApplicationRecorder):  # no transaction left open on the events table
        table = f'"{ledger.recorder.datastore.schema}".{ledger.recorder.events_table_name}'
        with ledger.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE NOWAIT")
