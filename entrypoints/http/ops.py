"""Health and readiness probes."""

from __future__ import annotations

import anyio
from litestar import get

from application.errors import StoreUnavailable
from entrypoints.http.auth import PUBLIC
from entrypoints.http.dependencies import ServicesDep
from entrypoints.http.schemas import Health


@get("/healthz", opt=PUBLIC, tags=["operations"], sync_to_thread=False, operation_id="healthz")
def healthz() -> Health:
    """The process is up."""
    return Health("ok")


@get("/readyz", opt=PUBLIC, tags=["operations"], operation_id="readyz")
async def readyz(services: ServicesDep) -> Health:
    """Ready to serve: the event store and the read model answer, and the read model is caught up.

    Caught up: at most `READY_MAX_LAG_EVENTS` events behind the log. 503 otherwise, naming which.
    """
    try:
        await anyio.to_thread.run_sync(services.ledger.head)
    except Exception as error:
        raise StoreUnavailable("the event store does not answer") from error
    try:
        lag = await services.read_side.lag()
    except Exception as error:
        raise StoreUnavailable("the read model does not answer") from error
    allowed = services.settings.ready_max_lag_events
    if lag > allowed:
        raise StoreUnavailable(f"the read model is {lag} events behind the log (READY_MAX_LAG_EVENTS={allowed})")
    return Health("ready")
