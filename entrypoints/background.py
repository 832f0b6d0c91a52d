"""Periodic work inside `mcpay serve`: reconciliation with the gateways."""

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


@asynccontextmanager
async def background_tasks(app: Litestar) -> AsyncIterator[None]:
    """Runs the reconciliation loop for the app's lifetime (RECONCILE_INTERVAL_SECONDS=0: off)."""
    services: Services = app.state.services
    interval = services.settings.reconcile_interval_seconds
    async with anyio.create_task_group() as tasks:
        if interval > 0:
            tasks.start_soon(_reconcile_forever, services, float(interval))
        yield
        tasks.cancel_scope.cancel()
