"""Projection on PostgreSQL: read-model writes a batch per transaction against one event per transaction.

Seeds a fresh schema with `--users` users of `--payments` payments each (as `read_side` does), reads the whole
log once, folds it into batches of each size in `--sizes` (untimed), then empties the read model and times
writing those batches, each in one transaction with its tracking row: size 1 is what the library's
`ProjectionRunner` does (`process_event` per event, one tracking record each), 500 is what `Projector` does.
"""

from __future__ import annotations

import argparse
import time

from adapters.read_side.postgres import PostgresReadModel
from application.projection import PaymentFolds, ProjectedBatch, project
from benchmarks._postgres import described_server
from benchmarks._serve import bench_settings
from benchmarks.read_side import seed
from entrypoints.bootstrap import bootstrap
from tests.processes import fresh_schema


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks projection_batches", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--users", type=int, default=200, help="users, each with their own wallet (default 200)")
    parser.add_argument("--payments", type=int, default=10, help="payments per user (default 10)")
    parser.add_argument("--sizes", default="500,1", help="events per transaction, comma-separated (default 500,1)")
    args = parser.parse_args(argv)
    server = described_server()
    if server is None:
        return
    with fresh_schema(server, "bench") as url:
        services = bootstrap(bench_settings(url))
        try:
            seed(services, args.users, args.payments)
            ledger = services.ledger
            notifications = ledger.recorder.select_notifications(start=0, limit=10**9, inclusive_of_start=False)
            store = PostgresReadModel.beside(ledger.recorder, ledger.name)
            print(f"  {len(notifications):,} events ({args.users:,} users x {args.payments} payments, half paid)")
            for size in (int(part) for part in args.sizes.split(",")):
                folds = PaymentFolds(ledger)
                batches: list[ProjectedBatch] = []
                after = 0
                for start in range(0, len(notifications), size):
                    page = notifications[start : start + size]
                    batches.append(project(ledger, folds, after, page))
                    after = page[-1].id
                store.rebuild([])  # no rows, position 0
                started = time.perf_counter()
                for batch in batches:
                    store.apply(batch)
                took = time.perf_counter() - started
                print(
                    f"  {size:>4} events per transaction: {len(batches):,} transactions in {took:.2f} s, "
                    f"{len(notifications) / took:,.0f} events/s"
                )
        finally:
            services.close()
