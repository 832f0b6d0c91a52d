"""/api/webhooks: gateway deliveries, authenticated by their signatures alone."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Controller, Request, post
from litestar.status_codes import HTTP_200_OK

from entrypoints.bootstrap import Services
from entrypoints.http.auth import PUBLIC
from entrypoints.http.schemas import WebhookReceipt


class WebhooksController(Controller):
    path = "/api/webhooks"
    tags = ("webhooks",)
    opt = PUBLIC

    @post("/stripe", status_code=HTTP_200_OK)
    async def stripe(self, request: Request[Any, Any, Any], services: Services) -> WebhookReceipt:
        """Stripe events, verified with `Stripe-Signature` on the raw body (400 if it fails)."""
        return await _receive("stripe", request, services)

    @post("/clickpesa", status_code=HTTP_200_OK)
    async def clickpesa(self, request: Request[Any, Any, Any], services: Services) -> WebhookReceipt:
        """ClickPesa events, verified by their canonical `checksum` (400 if it fails)."""
        return await _receive("clickpesa", request, services)


async def _receive(gateway: str, request: Request[Any, Any, Any], services: Services) -> WebhookReceipt:
    body = await request.body()
    headers = dict(request.headers)
    result = await anyio.to_thread.run_sync(services.payments.receive_webhook, gateway, body, headers)
    return WebhookReceipt(received=True, result=result)
