"""/api/webhooks: gateway deliveries, authenticated by their signatures alone."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from litestar import Controller, Request, post
from litestar.status_codes import HTTP_200_OK

from application.errors import WebhookRejected
from entrypoints.http.auth import PUBLIC
from entrypoints.http.dependencies import ServicesDep
from entrypoints.http.schemas import WebhookReceipt, WebhookResult
from entrypoints.http.webhook_bodies import check_body

# A gateway reads nothing back: its deliveries need not wait for the read side.
WEBHOOK_ROUTES = {**PUBLIC, "skip_read_your_writes": True}


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
    """Verified and read here, on the event loop (microseconds of HMAC and JSON); decided and saved by the
    process's group writer, which answers once the group it joined is committed."""
    body = await request.body()
    try:
        try:
            check_body(gateway, body)
        except WebhookRejected:
            services.metrics.webhook_checked(gateway, verified=False)  # verified() counts its own refusals
            raise
        event = services.payments.verified(gateway, body, dict(request.headers))
    except WebhookRejected:
        services.metrics.webhook_delivered(gateway, "rejected")
        raise
    result = await asyncio.wrap_future(services.payments.submit(event))
    services.metrics.webhook_delivered(gateway, result)
    return WebhookReceipt(received=True, result=cast(WebhookResult, result))
