"""Periodic work inside `mcpay serve`: reconciliation with the gateways, signed ledger checkpoints."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from litestar import Litestar

from entrypoints.bootstrap import Services

logger = logging.getLogger("mcpay.background")


async def _reconcile_forever(services: Services, interval: float) -> None:
    while True:
        await anyio.sleep(interval)
        try:
            report = await anyio.to_thread.run_sync(services.reconciler.run_once)
        except Exception:
            logger.exception("reconciliation run failed; trying again in %s s", interval)
            continue
        if report.examined:
            logger.info("reconciliation: %s", report)


async def _checkpoint_forever(services: Services, interval: float) -> None:
    while True:
        await anyio.sleep(interval)
        try:
            checkpoint = await anyio.to_thread.run_sync(services.audit.record_checkpoint)
        except Exception:
            logger.exception("ledger checkpoint failed; trying again in %s s", interval)
            continue
        if checkpoint is not None:
            logger.info("ledger checkpoint at position %s: %s", checkpoint.position, checkpoint.head_hash)


@asynccontextmanager
async def background_tasks(app: Litestar) -> AsyncIterator[None]:
    """Runs the reconciliation and checkpoint loops for the app's lifetime (an interval of 0: off)."""
    services: Services = app.state.services
    interval = services.settings.reconcile_interval_seconds
    checkpoints = services.settings.checkpoint_interval_seconds
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(services.read_side.run)  # the projections: fed as the log grows, by one process
        if interval > 0:
            tasks.start_soon(_reconcile_forever, services, float(interval))
        if checkpoints > 0 and services.audit.public_key is None:
            logger.warning("no LEDGER_SIGNING_KEY: periodic ledger checkpoints are off")
        elif checkpoints > 0:
            tasks.start_soon(_checkpoint_forever, services, float(checkpoints))
        yield
        tasks.cancel_scope.cancel()
