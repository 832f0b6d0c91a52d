"""Replay: every balance rebuilt from the event store (SQLite and PostgreSQL), beside the raw row fetch rate.

Writes `--events` events (1,000,000 by default; BENCH_REPLAY_EVENTS for a quick run) shaped like the
service's own: payments initiated, referenced, checked out, confirmed and credited to one of 20,000
wallets, one in twenty refunded, one in ten followed by a spend of half its credits with one of 50 payees. They are real domain events from the aggregates, turned into stored
events by the ledger's own mapper and inserted through its recorder in large batches (no HTTP).

Then, on each store and in a fresh process: the raw rate (the library's `select_notifications` pages of
the table, without decoding a row), `application.replay.replay_balances` (the store's own reading of the
wallet rows, each move naming its gateway, ADR 41, 48 and 65) and, as the same-run baseline, the same fold over the
ledger mapper's whole events with the payments' `PaymentInitiated` (`mapped_moves`, the path replay took before).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent

from adapters.persistence import persistence_env
from application.ledger import Ledger
from application.replay import PAGE, WALLET_TOPICS, fold_accounts, mapped_moves, replay_accounts
from benchmarks._machine import describe
from benchmarks._postgres import postgres_server, server_version
from domain.indexes import PaymentReference
from domain.money import Money
from domain.payment import Payment
from domain.spend import SpendOrder
from domain.wallet import Wallet
from tests.processes import fresh_schema

USERS = 20_000
SPEND_EVERY = 10  # payments
BATCH = 10_000  # stored events per insert


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks ledger_replay", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_REPLAY_EVENTS", "1000000")))
    parser.add_argument("--stores", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    args = parser.parse_args(argv)
    stores = args.stores.split(",")
    server = postgres_server() if "postgresql" in stores else None
    print(describe(server_version(server) if server else None))
    if "postgresql" in stores and server is None:
        print("  postgresql skipped: no PostgreSQL (set BENCH_DATABASE_URL or TEST_DATABASE_URL)")
        stores.remove("postgresql")
    with tempfile.TemporaryDirectory(prefix="mcpay-bench-") as scratch:
        sqlite_url = f"sqlite:///{Path(scratch) / 'ledger.sqlite3'}"
        written = _in_fresh_process(write_events, sqlite_url, args.events)
        print(
            f"  {written['events']:,} events for {written['payments']:,} payments and {written['wallets']:,} wallets, "
            f"written to SQLite in {written['seconds']:.1f} s"
        )
        if "sqlite" in stores:
            _benchmark("sqlite", sqlite_url, written)
        if "postgresql" in stores and server is not None:
            with fresh_schema(server, "bench") as url:
                copied = _in_fresh_process(copy_events, sqlite_url, url)
                print(f"  the same events copied to PostgreSQL in {copied['seconds']:.1f} s")
                _benchmark("postgresql", url, written)


def _benchmark(store: str, url: str, written: dict[str, Any]) -> None:
    _in_fresh_process(fetch_rows, url)  # warms the caches the same way for every read
    raw = _in_fresh_process(fetch_rows, url)
    raw_balances = _in_fresh_process(fetch_rows, url, WALLET_TOPICS)
    replayed = _in_fresh_process(replay, url)
    mapped = _in_fresh_process(replay, url, True)
    print(f"  {store}:")
    print(f"    raw row fetch, every row (select_notifications, {PAGE} a page, no decoding): {_rate(raw, 'rows')}")
    print(f"    raw row fetch, the wallet rows replay reads: {_rate(raw_balances, 'rows', raw['count'])}")
    print(f"    replay through the mapper's whole events (baseline): {_rate(mapped, 'events')}")
    print(f"    replay_balances: {_rate(replayed, 'events')}")
    print(f"    replay runs at {replayed['rate'] / raw['rate']:.2f} x the raw fetch rate of the whole table")
    print(f"    replay runs at {replayed['rate'] / mapped['rate']:.2f} x the mapper path")
    for name, result in (("replay_balances", replayed), ("mapper path", mapped)):
        agrees = all(result[name] == written[name] for name in ("total", "wallets", "spent")) and result["balanced"]
        print(
            f"    {name}: {result['wallets']:,} balances, total {result['total']} MC, {result['spent']} MC spent, "
            f"the accounts {'add up to zero' if result['balanced'] else 'DO NOT add up'}: {_verdict(agrees)}"
        )


def write_events(url: str, events: int) -> dict[str, Any]:
    """Writes about `events` events (whole payments; at most a few more) through the ledger's recorder."""
    started = time.perf_counter()
    ledger = Ledger(env=persistence_env(url))
    synthetic = _Synthetic()
    try:
        batch: list[StoredEvent] = []
        while synthetic.events < events:
            batch += [ledger.mapper.to_stored_event(event) for event in synthetic.payment()]
            if len(batch) >= BATCH:
                ledger.recorder.insert_events(batch)
                batch = []
        ledger.recorder.insert_events(batch)
    finally:
        ledger.close()
    return {
        "seconds": time.perf_counter() - started,
        "events": synthetic.events,
        "payments": synthetic.payments,
        "wallets": len(synthetic.wallets),
        "total": str(sum(wallet.balance for wallet in synthetic.wallets.values())),
        "spent": str(synthetic.spent),
    }


def copy_events(source: str, target: str) -> dict[str, Any]:
    """The stored events of one store inserted, in the same order and batches, into another."""
    started = time.perf_counter()
    reading, writing = Ledger(env=persistence_env(source)), Ledger(env=persistence_env(target))
    try:
        position = 0
        while page := reading.recorder.select_notifications(start=position, limit=BATCH, inclusive_of_start=False):
            writing.recorder.insert_events(page)
            position = page[-1].id
    finally:
        reading.close()
        writing.close()
    return {"seconds": time.perf_counter() - started}


def fetch_rows(url: str, topics: Sequence[str] = ()) -> dict[str, Any]:
    """The pages replay reads (of `topics` only, when given), each row left undecoded."""
    ledger = Ledger(env=persistence_env(url))
    try:
        started, position, count = time.perf_counter(), 0, 0
        while page := ledger.recorder.select_notifications(
            start=position, limit=PAGE, topics=topics, inclusive_of_start=False
        ):
            count += len(page)
            position = page[-1].id
        return {"seconds": time.perf_counter() - started, "count": count}
    finally:
        ledger.close()


def replay(url: str, through_mapper: bool = False) -> dict[str, Any]:
    ledger = Ledger(env=persistence_env(url))
    try:
        events = ledger.recorder.max_notification_id() or 0
        started = time.perf_counter()
        accounts = fold_accounts(mapped_moves(ledger)) if through_mapper else replay_accounts(ledger)
        seconds = time.perf_counter() - started
    finally:
        ledger.close()
    return {
        "seconds": seconds,
        "count": events,
        "wallets": len(accounts.wallets),
        "total": str(sum(accounts.wallets.values())),
        "spent": str(sum(accounts.payees.values())),
        "balanced": accounts.balanced,
    }


@dataclass
class _Synthetic:
    """Real aggregates doing what the service does to them, their pending events collected as they go."""

    events: int = 0
    payments: int = 0
    spent: Decimal = Decimal("0.00")

    def __post_init__(self) -> None:
        self.wallets: dict[str, Wallet] = {}

    def payment(self) -> Iterator[Any]:
        self.payments += 1
        number = self.payments
        user = f"{number % USERS:064x}"
        price = Money(Decimal(5 + number % 200).quantize(Decimal("0.01")), "USD")
        payment = Payment.initiate(uuid.uuid4(), user, "stripe", f"MCR{number:011d}", price, Decimal(1))
        claim = PaymentReference(reference=payment.reference, payment_id=payment.id)
        payment.open_checkout(f"https://checkout.stripe.com/c/pay/cs_{number}", f"cs_{number}", {})
        evidence = {"gateway_event_id": f"evt_{number}", "body_sha256": f"{number:064x}"}
        payment.confirm(price, f"stripe:cs_{number}:paid", evidence)
        wallet = self.wallets.get(user) or Wallet(user_id=user)
        self.wallets[user] = wallet
        wallet.top_up(payment.id, Money(payment.credits, "MC"), gateway=payment.gateway)
        if number % 20 == 0:
            key = f"stripe:ch_{number}:refunded:{price.amount}"
            taken = payment.refund(price, price, key, {"gateway_event_id": f"evt_re_{number}"})
            wallet.reverse(payment.id, taken, f"refunded: {key}", gateway=payment.gateway)
        elif number % SPEND_EVERY == 0:
            half = Money((price.amount / 2).quantize(Decimal("0.01")), "MC")
            order = SpendOrder(
                user, f"shop-{number // SPEND_EVERY % 50}", f"order-{number}", half, "", "2026-01-01T00:00:00Z"
            )
            wallet.spend(order, "00" * 64)  # replay moves balances; verify is what checks signatures
            self.spent += half.amount
        pending = [*payment.collect_events(), *claim.collect_events(), *wallet.collect_events()]
        self.events += len(pending)
        yield from pending


def _rate(measured: dict[str, Any], unit: str, log_events: int | None = None) -> str:
    """Rows or events a second; with `log_events`, also the log's events a second (rows selected from it)."""
    measured["rate"] = measured["count"] / measured["seconds"]
    text = f"{measured['rate']:,.0f} {unit}/s ({measured['count']:,} in {measured['seconds']:.1f} s)"
    if log_events is not None:
        text += f", {log_events / measured['seconds']:,.0f} log events/s"
    return text


def _verdict(agrees: bool) -> str:
    return "as written" if agrees else "WRONG"


def _in_fresh_process(task: Any, *args: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        result: dict[str, Any] = pool.submit(task, *args).result()
    return result
