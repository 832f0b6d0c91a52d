"""Read side on PostgreSQL: list and balance latency under 50 concurrent clients, beside a trivial endpoint.

Seeds a fresh schema with `--users` users of `--payments` payments each (every other one paid and credited,
saved straight into the event store), projects it, starts `mcpay serve` on it, signs every user in, then has
`--clients` clients send `--requests` requests to each endpoint in turn: `GET /healthz` (trivial: no store, no
auth: the floor), `GET /api/auth/me` (the bearer-token check alone), `GET /api/payments` (a user's list) and
`GET /api/wallet` (balance and movements). Then the same reads through the query port alone (`AsyncpgQueries`,
in this process, same concurrency).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

from eventsourcing.domain import Aggregate
from nacl.signing import SigningKey

from adapters.read_side.asyncpg_queries import AsyncpgQueries
from adapters.read_side.postgres import PostgresPlace
from benchmarks._load import Request, drive
from benchmarks._machine import describe
from benchmarks._postgres import postgres_server, server_version
from benchmarks._serve import bench_settings, serving
from benchmarks._stats import Run
from domain.indexes import PaymentReference
from domain.money import Money
from domain.payment import Payment
from domain.wallet import Wallet
from entrypoints.bootstrap import Services, bootstrap
from tests.processes import fresh_schema


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks read_side", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100, help="users, each with their own wallet (default 100)")
    parser.add_argument("--payments", type=int, default=20, help="payments per user (default 20)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--requests", type=int, default=3000, help="requests per endpoint (default 3000)")
    args = parser.parse_args(argv)
    server = postgres_server()
    if server is None:
        print("  skipped: no PostgreSQL (set BENCH_DATABASE_URL or TEST_DATABASE_URL)")
        return
    print(describe(server_version(server)))
    with fresh_schema(server, "bench") as url, tempfile.TemporaryDirectory(prefix="mcpay-bench-") as scratch:
        services = bootstrap(bench_settings(url))
        try:
            started = time.perf_counter()
            tokens = seed(services, args.users, args.payments)
            print(
                f"  seeded {args.users:,} users x {args.payments} payments (half paid) and projected them "
                f"in {time.perf_counter() - started:.1f} s; {args.clients} concurrent clients, "
                f"{args.requests:,} requests each"
            )
            with serving(url, Path(scratch) / "serve.log") as served:
                http = {label: measured(served.url, path, tokens, args) for label, path in ENDPOINTS}
            place = PostgresPlace.of(services.ledger.recorder, services.ledger.name)
            direct = asyncio.run(query_port(place, list(tokens), args.clients, args.requests))
        finally:
            services.close()
    for label, run in [*http.items(), *direct.items()]:
        print(f"  {label:<44} {run.summary('req')}")


WARM_UP = 200  # requests per endpoint before it is measured
ENDPOINTS = [
    ("GET /healthz (trivial, no auth)", "/healthz"),
    ("GET /api/auth/me (auth only)", "/api/auth/me"),
    ("GET /api/payments (list)", "/api/payments"),
    ("GET /api/wallet (balance + movements)", "/api/wallet"),
]


def seed(services: Services, users: int, payments: int) -> dict[str, str]:
    """Each user's payments and wallet saved in one go (every other payment paid and credited), then
    projected; answers each user's session token."""
    tokens: dict[str, str] = {}
    for _ in range(users):
        key = SigningKey.generate()
        user = key.verify_key.encode().hex()
        wallet = Wallet(user_id=user)
        made: list[Aggregate] = []
        for n in range(payments):
            price = Money(Decimal(5 + n), "USD")
            payment = Payment.initiate(uuid4(), user, "stripe", f"MCB{uuid4().hex[:11].upper()}", price, Decimal(1))
            payment.open_checkout(f"/demo/checkout/{payment.id}", f"cs_bench_{payment.reference}", {})
            if n % 2 == 0:
                payment.confirm(price, f"bench:{payment.reference}", {})
                wallet.top_up(payment.id, Money(payment.credits, "MC"), gateway="stripe")
            made += [payment, PaymentReference(reference=payment.reference, payment_id=payment.id)]
        services.ledger.save(*made, wallet)
        challenge = services.identity.challenge(user).challenge
        signature = key.sign(challenge.encode()).signature.hex()
        tokens[user] = services.identity.open_session(user, challenge, signature).token
    services.read_side.projector.run_once()
    return tokens


def measured(url: str, path: str, tokens: dict[str, str], args: argparse.Namespace) -> Run:
    drive(url, requests(path, tokens, WARM_UP), args.clients)  # connections open, code paths warm
    return drive(url, requests(path, tokens, args.requests), args.clients)


def requests(path: str, tokens: dict[str, str], count: int) -> Iterator[Request]:
    bearers = itertools.cycle([{"Authorization": f"Bearer {token}"} for token in tokens.values()])
    for _ in range(count):
        yield Request("GET", path, headers=next(bearers))


async def query_port(place: PostgresPlace, users: list[str], clients: int, count: int) -> dict[str, Run]:
    queries = AsyncpgQueries(place)
    try:
        await queries.payments_of(users[0])  # the pool open before the clock starts
        return {
            "AsyncpgQueries.payments_of (no HTTP)": await closed_loop(queries.payments_of, users, clients, count),
            "AsyncpgQueries.wallet_of (no HTTP)": await closed_loop(queries.wallet_of, users, clients, count),
            "AsyncpgQueries.balance_of (no HTTP)": await closed_loop(queries.balance_of, users, clients, count),
        }
    finally:
        await queries.close()


async def closed_loop(query: Callable[[str], Awaitable[object]], users: list[str], clients: int, count: int) -> Run:
    latencies: list[float] = []
    work = iter(itertools.islice(itertools.cycle(users), count))

    async def client() -> None:
        for user in work:
            started = time.perf_counter()
            await query(user)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Run(latencies, time.perf_counter() - started)
