"""Read-your-writes: a write's response is held (briefly) until the read model holds the write."""

from __future__ import annotations

import logging

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from application.reading import ReadSide

logger = logging.getLogger("mcpay.http")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WAIT_SECONDS = 2.0


class ReadYourWrites(ASGIMiddleware):
    """After a POST, PUT, PATCH or DELETE, the response starts once the projections hold what this process wrote,
    so the client's next list or balance, from any API process, shows its own change. Bounded: a stalled projector
    delays writes by at most WAIT_SECONDS, it does not fail them.

    Not for gateway webhooks: a gateway reads nothing back, and waiting there put a projection run in every
    delivery's path (docs/benchmarks.md). The demo checkout's POST, which relays its webhook, still waits."""

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = "skip_read_your_writes"

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") in SAFE_METHODS:
            await next_app(scope, receive, send)
            return
        read_side: ReadSide = scope["litestar_app"].state.services.read_side

        async def send_once_read_model_holds_it(message: Message) -> None:
            if message["type"] == "http.response.start":
                await _catch_up(read_side)
            await send(message)

        await next_app(scope, receive, send_once_read_model_holds_it)


async def _catch_up(read_side: ReadSide) -> None:
    try:
        if not await read_side.reflect_own_writes(WAIT_SECONDS):
            logger.warning("read model still behind the log after %s s: answering anyway", WAIT_SECONDS)
    except Exception:
        logger.exception("could not wait for the read model: answering anyway")
