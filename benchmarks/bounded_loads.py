"""Bounded loads: an in-process confirmation on a wallet of 3,000 top-ups beside one on a new wallet.

On each store (a SQLite file, PostgreSQL in a fresh schema): pending Stripe payments are saved in large
batches, then `--top-ups` of them are confirmed into one user's wallet through `PaymentService.apply`, as a
webhook would (snapshots are taken on the way, as in production). Then, in alternation, `--confirmations`
payments are confirmed into new wallets (the baseline, same run) and as many into the old wallet; only the
`apply` call is timed (the signed webhook is verified and parsed beforehand). Last, a few confirmations into
the old wallet through a ledger without snapshots: every load replays the wallet from its first event, as
every load did before snapshots.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from adapters.persistence import persistence_env
from application.gateways import GatewayEvent
from application.ledger import Ledger
from application.payments import PaymentService
from application.views import PaymentView
from benchmarks._machine import describe
from benchmarks._postgres import postgres_server, server_version
from benchmarks._serve import bench_settings
from domain.indexes import PaymentReference
from domain.money import Money
from domain.payment import Payment
from entrypoints.bootstrap import Services, bootstrap
from tests.processes import fresh_schema

PRICE = Money(Decimal("1.00"), "USD")
SEED_BATCH = 250
OLD_WALLET = "0" * 63 + "1"


class WholeHistories(Ledger):
    """The ledger as it was before snapshots: every load replays the aggregate from its first event."""

    name = "Ledger"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks bounded_loads", description=__doc__.splitlines()[0])
    parser.add_argument("--top-ups", type=int, default=int(os.environ.get("BENCH_WALLET_TOP_UPS", "3000")))
    parser.add_argument("--confirmations", type=int, default=200, help="timed on each kind of wallet")
    parser.add_argument("--without-snapshots", type=int, default=10, help="timed on the old wallet, no snapshots")
    parser.add_argument("--stores", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    args = parser.parse_args(argv)
    stores = args.stores.split(",")
    server = postgres_server() if "postgresql" in stores else None
    print(describe(server_version(server) if server else None))
    if "sqlite" in stores:
        with tempfile.TemporaryDirectory(prefix="mcpay-bench-") as scratch:
            _benchmark("sqlite", f"sqlite:///{Path(scratch) / 'ledger.sqlite3'}", args)
    if "postgresql" in stores:
        if server is None:
            print("  postgresql skipped: no PostgreSQL (set BENCH_DATABASE_URL or TEST_DATABASE_URL)")
            return
        with fresh_schema(server, "bench") as url:
            _benchmark("postgresql", url, args)


def _benchmark(store: str, url: str, args: argparse.Namespace) -> None:
    timed = args.confirmations
    with _services(url) as services:
        seeded = _seed(services, [OLD_WALLET] * args.top_ups + [OLD_WALLET] * (timed + args.without_snapshots))
        started = time.perf_counter()
        for view in seeded[: args.top_ups]:
            services.payments.apply(_paid(services, view))
        seeding = time.perf_counter() - started
        fresh = _seed(services, [uuid.uuid4().hex * 2 for _ in range(timed)])
        old = seeded[args.top_ups : args.top_ups + timed]
        new_times, old_times = _alternating(services.payments.apply, _events(services, fresh), _events(services, old))
        rest = _events(services, seeded[args.top_ups + timed :])
    whole = WholeHistories(env=persistence_env(url))
    try:
        replaying = PaymentService(whole, services.gateways, {"USD": Decimal(1)}, _NoIds())
        whole_times = [_timed(replaying.apply, event) for event in rest]
    finally:
        whole.close()
    baseline = statistics.median(new_times)
    print(f"  {store}: {args.top_ups:,} confirmations into one wallet first took {seeding:.1f} s")
    rows = [
        ("baseline: confirmation into a new wallet", new_times),
        (f"confirmation into the wallet of {args.top_ups:,} top-ups", old_times),
        ("the same without snapshots (whole history)", whole_times),
    ]
    for label, times in rows:
        print(f"    {label:<48} {_figures(times, baseline)}")


@contextmanager
def _services(url: str) -> Iterator[Services]:
    services = bootstrap(bench_settings(url))
    try:
        yield services
    finally:
        services.close()


def _seed(services: Services, owners: Sequence[str]) -> list[PaymentView]:
    """Pending Stripe payments with open checkouts, one per owner, saved in large batches."""
    views: list[PaymentView] = []
    for start in range(0, len(owners), SEED_BATCH):
        batch: list[Payment | PaymentReference] = []
        for owner in owners[start : start + SEED_BATCH]:
            reference = f"MCB{uuid.uuid4().hex[:12].upper()}"
            payment = Payment.initiate(uuid.uuid4(), owner, "stripe", reference, PRICE, Decimal(1))
            payment.open_checkout(f"http://127.0.0.1/demo/checkout/{payment.id}", f"cs_demo_{reference}", {})
            batch += [payment, PaymentReference(reference=payment.reference, payment_id=payment.id)]
            views.append(PaymentView.of(payment))
        services.ledger.save(*batch)
    return views


def _events(services: Services, views: Sequence[PaymentView]) -> list[GatewayEvent]:
    return [_paid(services, view) for view in views]


def _paid(services: Services, view: PaymentView) -> GatewayEvent:
    """The signed `checkout.session.completed` the demo checkout sends, verified and parsed."""
    body, headers = services.simulators["stripe"].simulate(view, "pay")
    return services.gateways["stripe"].parse_webhook(body, headers)


def _alternating(
    apply: Callable[[GatewayEvent], Any], first: Sequence[GatewayEvent], second: Sequence[GatewayEvent]
) -> tuple[list[float], list[float]]:
    """One of each in turn, so that the machine's load falls on both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for one, other in zip(first, second, strict=True):
        times[0].append(_timed(apply, one))
        times[1].append(_timed(apply, other))
    return times


def _timed(apply: Callable[[GatewayEvent], Any], event: GatewayEvent) -> float:
    started = time.perf_counter()
    outcome = apply(event)
    elapsed = time.perf_counter() - started
    if outcome != "confirmed":
        raise RuntimeError(f"a confirmation answered {outcome!r}")
    return elapsed


def _figures(times: Sequence[float], baseline: float) -> str:
    median = statistics.median(times)
    p90 = statistics.quantiles(times, n=10)[-1] if len(times) > 1 else median
    return f"median {median * 1000:6.2f} ms, p90 {p90 * 1000:6.2f} ms ({median / baseline:5.2f} x, {len(times)} timed)"


class _NoIds:
    """Confirmations make no payments: the replaying service is never asked for an id."""

    def payment_id(self) -> uuid.UUID:
        raise RuntimeError("no payments are initiated here")

    def reference(self) -> str:
        raise RuntimeError("no payments are initiated here")
