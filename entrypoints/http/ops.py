"""Health and readiness probes."""

from __future__ import annotations

from litestar import get

from application.errors import StoreUnavailable
from entrypoints.http.auth import PUBLIC
from entrypoints.http.dependencies import ServicesDep
from entrypoints.http.schemas import Health


@get("/healthz", opt=PUBLIC, tags=["operations"], sync_to_thread=False, operation_id="healthz")
def healthz() -> Health:
    """The process is up."""
    return Health("ok")


@get("/readyz", opt=PUBLIC, tags=["operations"], sync_to_thread=True, operation_id="readyz")
def readyz(services: ServicesDep) -> Health:
    """The event store answers (503 otherwise)."""
    try:
        services.ledger.recorder.max_notification_id()
    except Exception as error:
        raise StoreUnavailable("the event store does not answer") from error
    return Health("ready")
