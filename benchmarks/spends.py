"""Spends per second on PostgreSQL: signed spends over HTTP at `--concurrency` 8, beside webhook credits.

Funds `--users` wallets straight in the event store, starts `mcpay serve` (demo mode: its derived ledger key signs
the receipts) on a fresh schema, signs every user in over HTTP, and signs `--spends` spends (spread over the
wallets, each covered) right before the run, so that every `signed_at` is fresh. Each spend is answered after its
commit with a signed receipt. Then it counts the spends in the event store (every one recorded once, no wallet
below zero).

Beside it, same run, same PostgreSQL server, same concurrency: as many signed Stripe webhooks crediting wallets
(`webhook_credits`' path), and as many single-row autocommit INSERTs, the floor of any durable write.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
from nacl.signing import SigningKey

from adapters.persistence import persistence_env
from application.ledger import Ledger
from application.replay import ledger_events
from benchmarks._load import Request, drive
from benchmarks._postgres import described_server
from benchmarks._serve import bench_settings, plural_workers, serving, worker_counts
from benchmarks._stats import Run
from benchmarks._wrk import Expected, WrkRun, add_driver_argument, drive_with_wrk
from benchmarks.webhook_credits import insert_baseline
from benchmarks.webhook_credits import main as webhook_credits
from domain.money import credits
from domain.wallet import Wallet
from entrypoints.bootstrap import bootstrap
from tests.processes import fresh_schema

FUNDS = credits("1000.00")
AMOUNT = "1.25"
SPENT_TOPIC = f"{Wallet.__module__}:{Wallet.__qualname__}.CreditsSpent"
SPENT = Expected(status=201, answer='"spend_id"', ok='"receipt"')


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks spends", description=__doc__.splitlines()[0])
    parser.add_argument("--spends", type=int, default=int(os.environ.get("BENCH_SPENDS", "2000")))
    parser.add_argument("--concurrency", type=int, default=8, help="clients spending at once (default 8)")
    parser.add_argument("--users", type=int, default=100, help="wallets the spends come from (default 100)")
    parser.add_argument("--workers", type=worker_counts, default=[1, 2], help="worker counts (default 1,2)")
    add_driver_argument(parser)
    args = parser.parse_args(argv)
    server = described_server()
    if server is None:
        return
    print(
        f"  {args.spends:,} spends from {args.users:,} wallets, {args.concurrency} concurrent clients ({args.driver})"
    )
    baseline = insert_baseline(server, args.spends, args.concurrency)
    print(f"  baseline, single-row INSERT transactions: {baseline.summary('inserts')}")
    rates = {workers: _spend(server, args, workers) for workers in args.workers}
    print("  spends/s side by side:")
    for workers, rate in rates.items():
        print(f"    {plural_workers(workers):>10}: {rate:,.0f} spends/s, {rate / baseline.rate:.2f} x the INSERT rate")
    print("  beside it, webhook credits at the same concurrency:")
    workers = ",".join(str(count) for count in args.workers)
    same = ["--payments", str(args.spends), "--concurrency", str(args.concurrency), "--driver", args.driver]
    webhook_credits([*same, "--workers", workers])


def _spend(server: str, args: argparse.Namespace, workers: int) -> float:
    """One run with `workers` worker processes on a fresh schema; answers its spends per second."""
    print(f"  -- {plural_workers(workers)}")
    keys = [SigningKey.generate() for _ in range(args.users)]
    with fresh_schema(server, "bench") as url, tempfile.TemporaryDirectory(prefix="mcpay-bench-") as scratch:
        fund(url, keys)
        log = Path(scratch) / "serve.log"
        with serving(url, log, workers) as served:
            tokens = {key: signed_in(served.url, key) for key in keys}
            signed = list(spends(tokens, args.spends))  # signed now: well within the 5 minutes
            run: Run | WrkRun = (
                drive_with_wrk(served.url, signed, args.concurrency, expected=SPENT)
                if args.driver == "wrk"
                else drive(served.url, iter(signed), args.concurrency, ok=_spent)
            )
        recorded, lowest = spends_recorded(url)
        if run.failures:
            print(f"  {run.failures} spends were not answered 201; the server's log ends:")
            print(log.read_text()[-3000:])
    print(f"  signed spend to receipt: {run.summary('spends')}")
    print(f"  spends recorded: {recorded:,} of {args.spends:,}; lowest balance after a spend: {lowest}")
    return run.rate


def fund(database_url: str, keys: Sequence[SigningKey]) -> None:
    """Each key's wallet topped up with FUNDS, saved in one batch and already projected."""
    services = bootstrap(bench_settings(database_url))
    try:
        wallets = []
        for key in keys:
            wallet = Wallet(user_id=key.verify_key.encode().hex())
            wallet.top_up(uuid.uuid4(), FUNDS, gateway="stripe")
            wallets.append(wallet)
        services.ledger.save(*wallets)
        services.read_side.projector.run_once()
    finally:
        services.close()


def signed_in(url: str, key: SigningKey) -> str:
    public_key = key.verify_key.encode().hex()
    with httpx.Client(base_url=url, timeout=30) as client:
        challenge = client.post("/api/auth/challenge", json={"public_key": public_key}).json()["challenge"]
        signature = key.sign(challenge.encode()).signature.hex()
        body = {"public_key": public_key, "challenge": challenge, "signature": signature}
        token: str = client.post("/api/auth/session", json=body).json()["token"]
    return token


def spends(tokens: dict[SigningKey, str], count: int) -> Iterator[Request]:
    """`count` spends, round robin over the wallets, each signed by its owner now."""
    keys = list(tokens)
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for number in range(count):
        key = keys[number % len(keys)]
        fields = {"payee": f"shop-{number % 7}", "order_id": f"order-{number}", "memo": "", "signed_at": at}
        message = {"type": "mcpay.spend.v1", "user_id": key.verify_key.encode().hex(), "amount": AMOUNT, **fields}
        message["currency"] = "MC"
        canonical = json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        body = {**fields, "amount": AMOUNT, "signature": key.sign(canonical).signature.hex()}
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {tokens[key]}"}
        yield Request("POST", "/api/wallet/spends", json.dumps(body).encode(), headers)


def spends_recorded(database_url: str) -> tuple[int, Decimal | None]:
    """How many CreditsSpent the event store holds, and the lowest balance one left."""
    ledger = Ledger(env=persistence_env(database_url))
    try:
        balances = [event.balance_after for _, event in ledger_events(ledger, topics=(SPENT_TOPIC,))]
    finally:
        ledger.close()
    return len(balances), min(balances, default=None)


def _spent(status: int, body: bytes) -> bool:
    return status == 201 and "receipt" in json.loads(body)
