"""API latency: `GET /api/wallet` at 50 concurrent clients beside `GET /healthz` on the same server, same run.

For each store (the default SQLite file, and PostgreSQL in a fresh schema) it seeds `--clients` wallets
with `--entries` credits each (plus `--others` wallets of one credit, so the tables are not tiny),
starts `mcpay serve`, signs each client in (ed25519 challenge, session token), and then loads the trivial
endpoint and then the wallet, back to back: with wrk (where installed) `--clients` connections for `--seconds`
each, the wallet requests taking the clients' tokens in turn; else the Python client, `--requests` per client.
p50 and p99 of both. On PostgreSQL it does so once for each worker count in `--workers` (default 1,2), side by
side; SQLite serves one.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
from nacl.signing import SigningKey

from benchmarks._load import Request, drive
from benchmarks._machine import describe, profiling
from benchmarks._postgres import postgres_server, server_version
from benchmarks._serve import Server, bench_settings, plural_workers, serving, worker_counts
from benchmarks._stats import Run
from benchmarks._wrk import WrkRun, get_for, wrk_available
from domain.indexes import PaymentReference
from domain.money import Money
from domain.payment import Payment
from domain.wallet import Wallet
from entrypoints.bootstrap import bootstrap
from tests.processes import fresh_schema

PRICE = Money(Decimal("10.00"), "USD")
SEED_BATCH = 200


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks api_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients, each a signed-in user")
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_API_REQUESTS", "60")))
    parser.add_argument("--entries", type=int, default=20, help="credits in each client's wallet")
    parser.add_argument("--others", type=int, default=5000, help="other wallets in the store")
    parser.add_argument("--stores", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--workers", type=worker_counts, default=[1, 2], help="PostgreSQL worker counts (default 1,2)")
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_API_SECONDS", "10")))
    parser.add_argument(
        "--driver",
        choices=["wrk", "python"],
        default="wrk" if wrk_available() else "python",
        help="the load generator: wrk (default, when installed) or the Python client",
    )
    parser.add_argument(
        "--profile", type=Path, help="a folder for a py-spy profile of the server during each wallet run (wrk)"
    )
    args = parser.parse_args(argv)
    stores = args.stores.split(",")
    server = postgres_server() if "postgresql" in stores else None
    print(describe(server_version(server) if server else None))
    load = f"{args.seconds:.0f} s per endpoint (wrk)" if args.driver == "wrk" else f"{args.requests} requests each"
    print(f"  {args.clients} clients, {load}; wallets of {args.entries} entries")
    with tempfile.TemporaryDirectory(prefix="mcpay-bench-") as scratch:
        for store in stores:
            if store == "sqlite":
                _benchmark(store, f"sqlite:///{Path(scratch) / 'mcpay.sqlite3'}", Path(scratch), args, 1)
            elif server is None:
                print("  postgresql skipped: no PostgreSQL (set BENCH_DATABASE_URL or TEST_DATABASE_URL)")
            else:
                for workers in args.workers:
                    with fresh_schema(server, "bench") as url:
                        _benchmark(store, url, Path(scratch), args, workers)


def _benchmark(store: str, url: str, scratch: Path, args: argparse.Namespace, workers: int) -> None:
    keys = [SigningKey.generate() for _ in range(args.clients)]
    seed(url, [key.verify_key.encode().hex() for key in keys], args.entries, args.others)
    with serving(url, scratch / f"serve-{store}-{workers}.log", workers) as served:
        tokens = [sign_in(served, key) for key in keys]
        if args.driver == "wrk":
            bearers = [{"authorization": f"Bearer {token}"} for token in tokens]
            get_for(served.url, "/api/wallet", bearers, args.clients, 2)  # warm-up: connections, caches
            healthz_run = get_for(served.url, "/healthz", [], args.clients, args.seconds)
            with profiling(served.pid, args.profile, f"api_latency-{store}-{workers}w"):
                wallet_run = get_for(served.url, "/api/wallet", bearers, args.clients, args.seconds)
            _report(f"{store}, {plural_workers(workers)}", healthz_run, wallet_run)
            return
        trivial = [Request("GET", "/healthz")] * (args.clients * args.requests)
        wallets = [
            Request("GET", "/api/wallet", headers={"authorization": f"Bearer {tokens[n % len(tokens)]}"})
            for n in range(args.clients * args.requests)
        ]
        drive(served.url, trivial[: args.clients * 2], args.clients)  # warm-up: connections, caches
        drive(served.url, wallets[: args.clients * 2], args.clients)
        healthz = drive(served.url, trivial, args.clients)
        wallet = drive(served.url, wallets, args.clients)
    _report(f"{store}, {plural_workers(workers)}", healthz, wallet)


def seed(database_url: str, users: list[str], entries: int, others: int) -> None:
    """Confirmed, credited payments: `entries` for each of `users`, one for each of `others` more wallets."""
    services = bootstrap(bench_settings(database_url))
    owners = [user for user in users for _ in range(entries)] + [f"{n:064x}" for n in range(others)]
    wallets: dict[str, Wallet] = {}
    try:
        for start in range(0, len(owners), SEED_BATCH):
            batch: list[Payment | PaymentReference | Wallet] = []
            for number, user in enumerate(owners[start : start + SEED_BATCH], start):
                payment = Payment.initiate(uuid.uuid4(), user, "stripe", f"MCA{number:09d}", PRICE, Decimal(1))
                payment.confirm(PRICE, f"stripe:cs_{number}:paid", {"gateway_event_id": f"evt_{number}"})
                wallet = wallets.setdefault(user, Wallet(user_id=user))
                wallet.top_up(payment.id, Money(payment.credits, "MC"), gateway="stripe")
                batch += [payment, PaymentReference(reference=payment.reference, payment_id=payment.id)]
            services.ledger.save(*batch, *wallets.values())
        services.read_side.projector.run_once()  # the server starts with its read model caught up
    finally:
        services.close()


def sign_in(server: Server, key: SigningKey) -> str:
    public_key = key.verify_key.encode().hex()
    challenge = httpx.post(f"{server.url}/api/auth/challenge", json={"public_key": public_key}).json()["challenge"]
    signature = key.sign(challenge.encode()).signature.hex()
    answer = httpx.post(
        f"{server.url}/api/auth/session",
        json={"public_key": public_key, "challenge": challenge, "signature": signature},
    )
    answer.raise_for_status()
    token: str = answer.json()["token"]
    return token


def _report(store: str, healthz: Run | WrkRun, wallet: Run | WrkRun) -> None:
    print(f"  {store}:")
    print(f"    GET /healthz (baseline): {healthz.summary('requests')}")
    print(f"    GET /api/wallet:         {wallet.summary('requests')}")
    ratio = wallet.percentile_ms(50) / healthz.percentile_ms(50) if healthz.percentile_ms(50) else 0.0
    print(f"    wallet p50 at {ratio:.1f} x the /healthz p50; {wallet.rate / healthz.rate:.2f} x its request rate")
