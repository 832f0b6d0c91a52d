"""`mcpay projections rebuild`: the read model projected again from the first event of the log.
`mcpay projections run`: the read model fed as the log grows, in a process of its own, until stopped."""

from __future__ import annotations

import argparse
import signal
import time
from typing import Any

import anyio

from entrypoints.bootstrap import bootstrap
from entrypoints.garbage import tune_for_serving
from entrypoints.logs import configure_logging
from entrypoints.progress import ProgressBar, add_no_progress
from entrypoints.settings import SettingsError, load_settings


def add_command(commands: Any) -> None:
    projections = commands.add_parser("projections", help="the read model (payments lists, balances, ledger pages)")
    tools = projections.add_subparsers(title="projections commands")
    rebuild = tools.add_parser(
        "rebuild",
        help="project the whole log again from position 0, replacing every row in one transaction "
        "(readers keep the old rows until it commits; safe beside running API processes)",
    )
    add_no_progress(rebuild)
    rebuild.set_defaults(run=_rebuild)
    run = tools.add_parser(
        "run",
        help="project the log as it grows, until stopped (SIGINT or SIGTERM): beside `mcpay serve` on PostgreSQL, "
        "it takes the projection work out of the API processes (one process projects at a time: a lease)",
    )
    run.set_defaults(run=_run)


def _rebuild(args: argparse.Namespace) -> int:
    with bootstrap(load_settings()) as services:
        started = time.monotonic()
        with ProgressBar("projecting", enabled=not args.no_progress) as progress:
            events = services.read_side.projector.rebuild(progress.report)
        position = services.read_side.projector.store.position()
    print(f"rebuilt the read model from {events} events in {time.monotonic() - started:.1f} s; at position {position}")
    return 0


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.database_url.startswith(("postgresql:", "postgres:")):
        raise SettingsError(
            "projections run needs PostgreSQL: on SQLite (or memory:) the one `mcpay serve` process projects, "
            "and a second process could not share the work; set DATABASE_URL=postgresql://..."
        )
    configure_logging(settings)  # a long-running process: its lines (the lease taken or lost) as the server's
    with bootstrap(settings) as services:
        tune_for_serving()
        print("projecting the log into the read model as it grows; stop with Ctrl-C", flush=True)
        anyio.run(_until_stopped, services.read_side.run)
        position = services.read_side.projector.store.position()
    print(f"stopped; the read model is at position {position}")
    return 0


async def _until_stopped(work: Any) -> None:
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(work)
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                tasks.cancel_scope.cancel()
                return
