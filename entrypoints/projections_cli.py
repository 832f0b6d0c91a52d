"""`mcpay projections rebuild`: the read model projected again from the first event of the log."""

from __future__ import annotations

import argparse
import time
from typing import Any

from entrypoints.bootstrap import bootstrap
from entrypoints.progress import ProgressBar, add_no_progress
from entrypoints.settings import load_settings


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


def _rebuild(args: argparse.Namespace) -> int:
    with bootstrap(load_settings()) as services:
        started = time.monotonic()
        with ProgressBar("projecting", enabled=not args.no_progress) as progress:
            events = services.read_side.projector.rebuild(progress.report)
        position = services.read_side.projector.store.position()
    print(f"rebuilt the read model from {events} events in {time.monotonic() - started:.1f} s; at position {position}")
    return 0
