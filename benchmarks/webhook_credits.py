"""Webhook-to-credit throughput on PostgreSQL: signed Stripe webhooks over HTTP, beside plain INSERTs.

Seeds `--payments` pending Stripe payments (spread over `--users` wallets) straight into the event store,
starts `mcpay serve` (demo mode: webhooks verified with the derived demo secret) on a fresh schema, and
has `--concurrency` clients deliver one signed `checkout.session.completed` per payment, once for each worker
count in `--workers` (default 1,2: side by side, each on a fresh schema). Then it counts
`CreditsToppedUp` per payment in the event store (every payment credited exactly once) and times how long
after the last answer the server's read model holds every event.

Baseline, same run, same PostgreSQL server, same concurrency: as many single-row autocommit INSERTs into a temporary
table (psycopg, one connection per thread): the floor any durable write per webhook pays.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
from nacl.signing import SigningKey

from adapters.persistence import persistence_env
from adapters.stripe.simulator import StripeSimulator
from application.ledger import Ledger
from application.replay import ledger_events
from application.views import PaymentView
from benchmarks._load import Request, drive
from benchmarks._machine import children_cpu, commands_cpu, gil_parts, machine_cpu, process_tree_cpu, profiling
from benchmarks._postgres import described_server, statement_times, statements_tracked
from benchmarks._serve import bench_settings, plural_workers, projecting, serving, worker_counts
from benchmarks._stats import Run
from benchmarks._writer_metrics import writer_samples, writer_summary
from benchmarks._wrk import WrkRun, add_driver_argument, drive_with_wrk
from domain.indexes import PaymentReference
from domain.money import Money
from domain.payment import Payment
from domain.wallet import Wallet
from entrypoints.bootstrap import bootstrap
from tests.processes import fresh_schema

PRICE = Money(Decimal("25.00"), "USD")
SEED_BATCH = 250  # payments saved per transaction while seeding
OTHERS = frozenset({"postgres"})  # the processes beside the server whose CPU per webhook is shown
CREDITED_TOPIC = f"{Wallet.__module__}:{Wallet.__qualname__}.CreditsToppedUp"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks webhook_credits", description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=int(os.environ.get("BENCH_WEBHOOK_PAYMENTS", "2000")))
    parser.add_argument("--concurrency", type=int, default=16, help="clients delivering at once (default 16)")
    parser.add_argument("--users", type=int, help="wallets the payments credit (default: payments / 4)")
    parser.add_argument("--workers", type=worker_counts, default=[1, 2], help="worker counts (default 1,2)")
    parser.add_argument(
        "--profile", type=Path, help="a folder: py-spy records the server during each run (raw format, one file a run)"
    )
    parser.add_argument(
        "--projector-process",
        action="store_true",
        help="project in a process of its own (`mcpay projections run`) beside the server, not in its workers",
    )
    parser.add_argument(
        "--seed",
        choices=["store", "checkouts"],
        default="store",
        help="how the pending payments are made: written straight into the store and projected by another process"
        " (default), or through the served process's own sign-in and checkout, as users make them",
    )
    add_driver_argument(parser)
    args = parser.parse_args(argv)
    server = described_server()
    if server is None:
        return
    users = args.users or max(1, args.payments // 4)
    print(f"  {args.payments:,} payments over {users:,} wallets, {args.concurrency} concurrent clients ({args.driver})")
    baseline = insert_baseline(server, args.payments, args.concurrency)
    print(f"  baseline, single-row INSERT transactions: {baseline.summary('inserts')}")
    rates = {workers: _deliver(server, args, users, workers) for workers in args.workers}
    print("  credits/s side by side:")
    for workers, rate in rates.items():
        print(f"    {plural_workers(workers):>10}: {rate:,.0f} credits/s, {rate / baseline.rate:.2f} x the INSERT rate")


def _deliver(server: str, args: argparse.Namespace, users: int, workers: int) -> float:
    """One run with `workers` worker processes on a fresh schema; answers its credits per second."""
    print(f"  -- {plural_workers(workers)}")
    with fresh_schema(server, "bench") as url, tempfile.TemporaryDirectory(prefix="mcpay-bench-") as scratch:
        payments = seed(url, args.payments, users) if args.seed == "store" else []
        log = Path(scratch) / "serve.log"
        with ExitStack() as beside:
            projector = (
                beside.enter_context(projecting(url, Path(scratch) / "projector.log"))
                if args.projector_process
                else None
            )
            served = beside.enter_context(serving(url, log, workers))
            if args.seed == "checkouts":
                payments = seed_through_checkouts(served.url, url, args.payments, users, args.concurrency)
            read_model_catch_up = beside.enter_context(catch_up_timer(url))
            simulator = StripeSimulator(served.webhook_secret("stripe"))
            signed = list(webhooks(simulator, payments))  # signed now: well within Stripe's 300 s tolerance
            cpu_before = _cpu(served.pid, projector)
            served_before = process_tree_cpu(served.pid)  # what the profile samples: the projector's process apart
            workers_before = children_cpu(served.pid)
            others_before, machine_before = commands_cpu(OTHERS), machine_cpu()
            tracked = statements_tracked(server)
            with profiling(served.pid, args.profile, f"webhook_credits-{workers}w") as profile:
                run: Run | WrkRun = (
                    drive_with_wrk(served.url, signed, args.concurrency)
                    if args.driver == "wrk"
                    else drive(served.url, iter(signed), args.concurrency, ok=_confirmed)
                )
            last_answer = run.ended if isinstance(run, WrkRun) else time.perf_counter()
            caught_up = read_model_catch_up(last_answer)
            server_cpu = _cpu(served.pid, projector) - cpu_before
            served_cpu = process_tree_cpu(served.pid) - served_before
            spread = _worker_shares(workers_before, children_cpu(served.pid), workers) if workers > 1 else ""
            statements = statement_times(server, _schema(url)) if tracked else []
            others_after, machine_after = commands_cpu(OTHERS), machine_cpu()
            writer = writer_samples(served.url)
        credits = credits_per_payment(url)
        if run.failures:
            print(f"  {run.failures} deliveries were not answered 'confirmed'; the server's log ends:")
            print(log.read_text()[-3000:])
    print(f"  webhook to credit: {run.summary('credits')}")
    print(
        f"  server CPU (every worker, the projector included): {server_cpu * 1000 / len(payments):.2f} ms per webhook"
        + spread
    )
    parts = {"server": server_cpu, **{name: others_after[name] - others_before[name] for name in sorted(OTHERS)}}
    machine = machine_after - machine_before
    parts["the rest"] = max(machine - sum(parts.values()), 0.0)
    split = ", ".join(f"{name} {seconds * 1000 / len(payments):.2f}" for name, seconds in parts.items())
    print(f"  the machine's CPU per webhook: {machine * 1000 / len(payments):.2f} ms ({split}), from the drive's start")
    print(
        "  until the read model caught up (the rest: wrk, the kernel's own work, the benchmark, anything else running)"
    )
    if statements:
        print(
            "  PostgreSQL's time executing each statement on the run's tables, per webhook (pg_stat_statements, the"
            " longest; BEGIN, COMMIT and SET not counted, the benchmark's own catch-up reads counted):"
        )
        for text, milliseconds, calls in statements:
            print(f"    {milliseconds * 1000 / len(payments):6.1f} µs  {calls:6,} calls  {text}")
    if profile is not None and profile.exists():  # py-spy writes nothing when it could not attach
        shares = gil_parts(profile)
        by_part = ", ".join(f"{name} {share * served_cpu * 1000 / len(payments):.2f}" for name, share in shares.items())
        whose = "the served processes'" + (" (the projector's own process not profiled)" if projector else "")
        print(f"  {whose} CPU per webhook by part, in the profile's shares of GIL samples: {by_part} ms")
    print(f"  the writer: {writer_summary(writer, len(payments))}")
    doubles = sum(count - 1 for count in credits.values() if count > 1)
    missing = sum(1 for payment in payments if credits[payment.payment_id] == 0)
    print(f"  double credits: {doubles}, payments without a credit: {missing}")
    lag = "not within 30 s" if caught_up is None else f"within {caught_up * 1000:.0f} ms of the last answer"
    print(f"  the read model held every event {lag}")
    return run.rate


def _worker_shares(before: dict[int, float], after: dict[int, float], workers: int) -> str:
    """Each worker's share of the workers' CPU over the run, largest first (the supervisor's other children, e.g.
    multiprocessing's resource tracker, use next to none): the workers accept connections from one socket, and a
    client's kept-alive connections can all land on one of them, which then serves the whole run."""
    used = sorted((after[pid] - before.get(pid, 0.0) for pid in after), reverse=True)[:workers]
    total = sum(used)
    if total <= 0:
        return ""
    return "; the workers' shares of it: " + " / ".join(f"{seconds / total:.0%}" for seconds in used)


def _cpu(server: int, projector: int | None) -> float:
    """CPU seconds of the server's processes, and of the projector's when it runs apart."""
    return process_tree_cpu(server) + (0.0 if projector is None else process_tree_cpu(projector))


def seed(database_url: str, count: int, users: int) -> list[PaymentView]:
    """`count` pending Stripe payments with open checkouts, saved in large batches and already projected."""
    services = bootstrap(bench_settings(database_url))
    try:
        views: list[PaymentView] = []
        for start in range(0, count, SEED_BATCH):
            batch: list[Payment | PaymentReference] = []
            for number in range(start, min(start + SEED_BATCH, count)):
                payment = Payment.initiate(
                    uuid.uuid4(), _user(number % users), "stripe", f"MCB{number:09d}", PRICE, Decimal(1)
                )
                payment.open_checkout(
                    f"http://127.0.0.1/demo/checkout/{payment.id}", f"cs_demo_{payment.reference}", {}
                )
                batch += [payment, PaymentReference(reference=payment.reference, payment_id=payment.id)]
                views.append(PaymentView.of(payment))
            services.ledger.save(*batch)
        services.read_side.projector.run_once()  # the server starts with its read model caught up
    finally:
        services.close()
    return views


def seed_through_checkouts(served: str, database_url: str, count: int, users: int, clients: int) -> list[PaymentView]:
    """`count` pending Stripe payments over `users` wallets, each user signed in and each payment initiated over
    HTTP by the served process, from `clients` clients at once; answers the payments as the store holds them."""
    started = time.perf_counter()
    keys = [SigningKey.generate() for _ in range(users)]
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=served, timeout=60)
        made: httpx.Client = local.client
        return made

    def signed_in(key: SigningKey) -> str:
        public_key = key.verify_key.encode().hex()
        challenge = client().post("/api/auth/challenge", json={"public_key": public_key}).json()["challenge"]
        signature = key.sign(challenge.encode()).signature.hex()
        body = {"public_key": public_key, "challenge": challenge, "signature": signature}
        answer = client().post("/api/auth/session", json=body)
        answer.raise_for_status()
        token: str = answer.json()["token"]
        return token

    def initiated(token: str) -> uuid.UUID:
        order = {"amount": str(PRICE.amount), "currency": PRICE.currency, "gateway": "stripe"}
        answer = client().post("/api/payments/initiate", json=order, headers={"authorization": f"Bearer {token}"})
        answer.raise_for_status()
        return uuid.UUID(answer.json()["payment_id"])

    with ThreadPoolExecutor(clients) as pool:
        tokens = list(pool.map(signed_in, keys))
        ids = list(pool.map(initiated, (tokens[number % users] for number in range(count))))
    services = bootstrap(bench_settings(database_url))
    try:
        views = [PaymentView.of(services.ledger.payment(payment_id)) for payment_id in ids]
    finally:
        services.close()
    seconds = time.perf_counter() - started
    print(f"  seeded through the server: {users:,} sign-ins and {count:,} checkouts in {seconds:.1f} s")
    return views


def webhooks(simulator: StripeSimulator, payments: Sequence[PaymentView]) -> Iterator[Request]:
    for payment in payments:
        body, headers = simulator.simulate(payment, "pay")
        yield Request("POST", "/api/webhooks/stripe", body, headers)


@contextmanager
def catch_up_timer(database_url: str, timeout: float = 30) -> Iterator[Callable[[float], float | None]]:
    """A function answering the seconds from `since` (a `time.perf_counter()`, the last answer's) until the
    server's projector has projected the whole log (None: not within `timeout`). What it reads with is built here,
    before the drive: building it after the drive took 25-100 ms, which the figure then counted."""
    services = bootstrap(bench_settings(database_url))

    def catch_up(since: float) -> float | None:
        started = since
        head = services.ledger.recorder.max_notification_id() or 0
        while services.read_side.projector.store.position() < head:
            if time.perf_counter() - started > timeout:
                return None
            time.sleep(0.002)
        return time.perf_counter() - started

    try:
        yield catch_up
    finally:
        services.close()


def credits_per_payment(database_url: str) -> Counter[uuid.UUID]:
    """How many CreditsToppedUp events name each payment, read from the event store."""
    ledger = Ledger(env=persistence_env(database_url))
    try:
        return Counter(event.payment_id for _, event in ledger_events(ledger, topics=(CREDITED_TOPIC,)))
    finally:
        ledger.close()


def insert_baseline(server: str, count: int, concurrency: int) -> Run:
    """`count` autocommit single-row INSERTs from `concurrency` threads, a connection each."""
    latencies: list[float] = []
    lock = threading.Lock()
    shares = [count // concurrency + (1 if i < count % concurrency else 0) for i in range(concurrency)]
    ready = threading.Barrier(concurrency + 1)

    def worker(share: int) -> None:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(
                "CREATE TEMPORARY TABLE credits_baseline (id bigserial PRIMARY KEY, payment_id uuid, amount numeric)"
            )
            ready.wait()
            mine = []
            for _ in range(share):
                started = time.perf_counter()
                connection.execute(
                    "INSERT INTO credits_baseline (payment_id, amount) VALUES (%s, %s)", (uuid.uuid4(), PRICE.amount)
                )
                mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return Run(latencies, time.perf_counter() - started)


def _confirmed(status: int, body: bytes) -> bool:
    return status == 200 and json.loads(body).get("result") == "confirmed"


def _user(number: int) -> str:
    return f"{number:064x}"


def _schema(url: str) -> str:
    """The schema a `fresh_schema` URL names."""
    return url.rpartition("schema=")[2]
