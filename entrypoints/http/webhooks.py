"""/api/webhooks: gateway deliveries, authenticated by their signatures alone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import msgspec
from litestar import Controller, Request, post
from litestar.enums import ScopeType
from litestar.status_codes import HTTP_200_OK
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from application.errors import WebhookRejected
from entrypoints.bootstrap import Services
from entrypoints.http.auth import PUBLIC
from entrypoints.http.dependencies import ServicesDep
from entrypoints.http.schemas import WebhookReceipt, WebhookResult
from entrypoints.http.webhook_bodies import PATHS, check_body

# A gateway reads nothing back: its deliveries need not wait for the read side.
WEBHOOK_ROUTES = {**PUBLIC, "skip_read_your_writes": True}
GATEWAY_OF_PATH = {path: gateway for gateway, path in PATHS.items()}
LANE_ERROR = "mcpay.webhook_error"  # in the scope's state: what the lane met, for the handler to answer
JSON_HEADERS = (b"content-type", b"application/json")


class WebhooksController(Controller):
    path = "/api/webhooks"
    tags = ("webhooks",)
    opt = WEBHOOK_ROUTES

    @post("/stripe", status_code=HTTP_200_OK, operation_id="receiveStripeWebhook")
    async def stripe(self, request: Request[Any, Any, Any], services: ServicesDep) -> WebhookReceipt:
        """Stripe events, verified with `Stripe-Signature` on the raw body (400 if it fails)."""
        return await _receive("stripe", request, services)

    @post("/clickpesa", status_code=HTTP_200_OK, operation_id="receiveClickPesaWebhook")
    async def clickpesa(self, request: Request[Any, Any, Any], services: ServicesDep) -> WebhookReceipt:
        """ClickPesa events, verified by their canonical `checksum` (400 if it fails)."""
        return await _receive("clickpesa", request, services)


async def _receive(gateway: str, request: Request[Any, Any, Any], services: ServicesDep) -> WebhookReceipt:
    met = request.scope.get("state", {}).pop(LANE_ERROR, None)
    if isinstance(met, Exception):  # the lane took the delivery and met an error: answered here, in the one way
        raise met
    body = await request.body()
    return WebhookReceipt(received=True, result=await deliver(gateway, body, dict(request.headers), services))


async def deliver(gateway: str, body: bytes, headers: Mapping[str, str], services: Services) -> WebhookResult:
    """Verified and read here, on the event loop (microseconds of HMAC and JSON); decided and saved by the
    process's group writer, which answers once the group it joined is committed. Raises what the answer is
    to be made of (WebhookRejected, the store's errors), each counted once."""
    try:
        try:
            check_body(gateway, body)
        except WebhookRejected:
            services.metrics.webhook_checked(gateway, verified=False)  # verified() counts its own refusals
            raise
        event = services.payments.verified(gateway, body, headers)
    except WebhookRejected:
        services.metrics.webhook_delivered(gateway, "rejected")
        raise
    result = await services.payments.submitted(event)
    services.metrics.webhook_delivered(gateway, result)
    return cast(WebhookResult, result)


class WebhookLane:
    """Gateway deliveries, straight from the server to `deliver` and back (ADR 59).

    A delivery is the one request the service takes thousands of a second: through Litestar's middleware,
    signature model, dependency injection and response pipeline it cost about 105 µs of its 250 on the event
    loop, more than verifying and reading it. This layer answers the deliveries it can with the same bytes the
    handlers do and hands everything else to the app untouched: another method, a query, a body of unstated
    length or over the limit, a CORS request, a root path. When a delivery it took fails (refused, the store
    unavailable), the handler answers it from the error the lane met, with the body read again from memory:
    problem+json comes from the one mapping, and nothing is verified or counted twice. The handlers stay the
    route's definition, in the schema and in every test that calls them."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self._app = app
        self._services = services
        self._limit = services.settings.max_body_bytes
        self._cors = bool(services.settings.cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway = GATEWAY_OF_PATH.get(scope["path"]) if scope["type"] == ScopeType.HTTP else None
        headers = self._headers(scope) if gateway is not None else None
        if gateway is None or headers is None:
            await self._app(scope, receive, send)
            return
        read, body = await _read(receive, self._limit)
        if body is None:  # longer than it said, past the limit or cut off: the app answers as it would have
            await self._app(scope, _replaying(read, receive), send)
            return
        try:
            result = await deliver(gateway, body, headers, self._services)
        except Exception as error:
            scope.setdefault("state", {})[LANE_ERROR] = error
            await self._app(scope, _replaying(read, receive), send)
            return
        scope["path_template"] = scope["path"]  # as the router sets it
        answer = _RECEIPTS.encode(WebhookReceipt(received=True, result=result))
        length = (b"content-length", str(len(answer)).encode())
        await send({"type": "http.response.start", "status": HTTP_200_OK, "headers": [JSON_HEADERS, length]})
        await send({"type": "http.response.body", "body": answer, "more_body": False})

    def _headers(self, scope: Scope) -> dict[str, str] | None:
        """The request's headers as the handlers read them (the first of a repeated name), when the lane may
        take it; None when the app must."""
        if scope["method"] != "POST" or scope["query_string"] or scope.get("root_path"):  # type: ignore[typeddict-item]
            return None
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        stated = headers.get("content-length", "")
        if not stated.isdigit() or int(stated) > self._limit or (self._cors and "origin" in headers):
            return None
        return headers


_RECEIPTS = msgspec.json.Encoder()


async def _read(receive: Receive, limit: int) -> tuple[list[ReceiveMessage], bytes | None]:
    """The messages read, and the body they make; None past `limit` bytes (the last message went past it) or when
    the client went away first."""
    read: list[ReceiveMessage] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            return read, None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            return read, None
        if not message.get("more_body", False):
            return read, b"".join(chunks)


def _replaying(read: list[ReceiveMessage], receive: Receive) -> Receive:
    """`receive`, with the messages already read given again first."""
    pending = list(read)

    async def replay() -> ReceiveMessage:
        return pending.pop(0) if pending else await receive()

    return replay
