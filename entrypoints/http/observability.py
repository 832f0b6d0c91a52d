"""Every request gets an id (X-Request-ID) bound into its log lines, one access log line and request metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

REQUEST_ID_HEADER = "x-request-id"
WELL_FORMED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route label of requests no route took (the router's 404 and 405)
UNCOUNTED = frozenset({"/metrics"})  # Prometheus' own scrapes
QUIET = frozenset({"/metrics", "/healthz", "/readyz"})  # probes: access lines at DEBUG only

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series (the metrics adapter says so too: whichever is imported first)
REQUESTS = Counter(
    "mcpay_http_requests", "HTTP requests by method, route template and status code.", ["method", "route", "status"]
)
DURATION = Histogram(
    "mcpay_http_request_duration_seconds", "HTTP request duration by method and route template.", ["method", "route"]
)
IN_FLIGHT = Gauge(
    "mcpay_http_requests_in_flight",
    "Requests being answered now (event streams included), over every worker.",
    multiprocess_mode="livesum",
)
access_log = logging.getLogger("mcpay.access")


class RequestObserver:
    """The outermost ASGI layer, so that it sees every response: the router's 404 and 405, and the 401 and 429
    that middleware raise, too."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self._app(scope, receive, send)
            return
        request_id = _request_id(scope)
        method = scope["method"] if scope["method"] in METHODS else "OTHER"  # before a layer below rewrites it
        status = 500  # what the client gets when the app fails without answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id), IN_FLIGHT.track_inprogress():
            try:
                await self._app(scope, receive, send_with_id)
            finally:
                _observe(scope, method, status, time.perf_counter() - started)


_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # methods, route templates and codes: a few hundred


def _instruments(method: str, route: str, status: int) -> tuple[Any, Any]:
    """The request counter and duration histogram of those labels, kept (the library's lookup locks each time)."""
    key = (method, route, status)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = (REQUESTS.labels(method, route, str(status)), DURATION.labels(method, route))
    return found


def _request_id(scope: Scope) -> str:
    """The caller's X-Request-ID when it is well formed (a short token), else a new one."""
    for name, value in scope["headers"]:
        if name.lower() == REQUEST_ID_HEADER.encode():
            offered = value.decode("latin-1")
            if WELL_FORMED_ID.fullmatch(offered):
                return offered
    return uuid.uuid4().hex


def _observe(scope: HTTPScope, method: str, status: int, seconds: float) -> None:
    route = scope.get("path_template") or UNMATCHED  # the router sets it on this very scope
    if route not in UNCOUNTED:
        counted, timed = _instruments(method, route, status)
        counted.inc()
        timed.observe(seconds)
    raw_path = scope.get("raw_path", b"").partition(b"?")[0]  # as sent (no control characters), without a query
    path = raw_path.decode("latin-1") or scope["path"]
    client = scope.get("client")
    fields: dict[str, Any] = {
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        "client": client[0] if client else None,
    }
    level = logging.ERROR if status >= 500 else logging.DEBUG if route in QUIET else logging.INFO
    access_log.log(level, "%s %s %s", method, path, status, extra=fields)
