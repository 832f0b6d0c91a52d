"""Periodic work inside `mcpay serve`: reconciliation with the gateways, signed ledger checkpoints."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio
from litestar import Litestar

from application.audit.service import Checkpoint
from application.projection import Lease
from application.reconciliation import ReconciliationReport
from entrypoints.bootstrap import Services

logger = logging.getLogger("mcpay.background")

T = TypeVar("T")


async def _every(interval: float, what: str, job: Callable[[], T], report: Callable[[T], None], lease: Lease) -> None:
    """Run `job` off the event loop every `interval` seconds, in the one process of the deployment holding
    `lease` (the others skip their turn); a failed run is logged and tried again."""
    while True:
        await anyio.sleep(interval)
        try:
            if not await anyio.to_thread.run_sync(lease.acquire):
                continue
            result = await anyio.to_thread.run_sync(job)
        except Exception:
            logger.exception("%s failed; trying again in %s s", what, interval)
            continue
        report(result)


def _report_reconciliation(report: ReconciliationReport) -> None:
    if report.examined or report.outcomes:
        logger.info("reconciliation: %s", report)


def _report_checkpoint(checkpoint: Checkpoint | None) -> None:
    if checkpoint is not None:
        logger.info("ledger checkpoint at position %s: %s", checkpoint.position, checkpoint.head_hash)


@asynccontextmanager
async def background_tasks(app: Litestar) -> AsyncIterator[None]:
    """Runs the projections, reconciliation and checkpoint loops for the app's lifetime (an interval of 0: off).
    Every worker runs them; the leases let one process per deployment do each job."""
    services: Services = app.state.services
    lease = services.background_lease
    interval = services.settings.reconcile_interval_seconds
    checkpoints = services.settings.checkpoint_interval_seconds
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(services.read_side.run)  # the projections: fed as the log grows, by one process
        if services.revoked is not None:
            tasks.start_soon(services.revoked.keep_current)  # revoked sessions, known here without a round trip
        if interval > 0:
            tasks.start_soon(
                _every, float(interval), "reconciliation", services.reconciler.run_once, _report_reconciliation, lease
            )
        if checkpoints > 0 and services.audit.public_key is None:
            logger.warning("no LEDGER_SIGNING_KEY: periodic ledger checkpoints are off")
        elif checkpoints > 0:
            tasks.start_soon(
                _every,
                float(checkpoints),
                "ledger checkpoint",
                services.audit.record_checkpoint,
                _report_checkpoint,
                lease,
            )
        yield
        tasks.cancel_scope.cancel()
