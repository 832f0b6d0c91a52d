"""GET /api/payments/{payment_id}/events: a payment's status, live, as server-sent events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, get
from litestar.params import FromPath, Parameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from application.identity import Principal
from application.reading import ReadSide
from application.views import PaymentView
from entrypoints.http.auth import TOKEN_IN_QUERY
from entrypoints.http.dependencies import ServicesDep
from entrypoints.http.schemas import Payment

KEEPALIVE_SECONDS = 15.0
STREAM_SECONDS = 15 * 60.0  # then the browser's EventSource reconnects, and is sent the payment afresh
RETRY_MILLISECONDS = 3000
RECONNECT_MILLISECONDS = 1000  # after a shutdown's last event: another process, or this one restarted, answers

DESCRIPTION = """\
A `text/event-stream` for the SPA's return page. The first event is the Payment as it stands; then one event per
change, the moment the read model takes in the webhook (or admin decision) that caused it. The stream ends after
the first event whose `status` is not `pending`: close the EventSource then, or it reconnects and is sent that
final state again. While nothing changes, a comment line keeps the connection open every 15 s. When the server
shuts down, the stream ends with `event: reconnect` (`data: {"reconnect": true}`, `retry: 1000`): open it again.

Each event is `event: payment`, `id: <updated_at>`, `data: <Payment JSON>`, exactly as `GET /api/payments/{id}`
answers. 404 for an unknown payment or another user's.

Authentication: `Authorization: Bearer <token>`, or, because a browser's `EventSource` cannot send headers, the
same token as the `token` query parameter: `new EventSource("/api/payments/<id>/events?token=" + token)`. This is
the only route that accepts a token in the URL.
"""

TokenQuery = Annotated[
    str | None,
    Parameter(
        required=False,
        description="The session token, for EventSource clients that cannot send an Authorization header "
        "(this route only). mcpay keeps it out of its access log.",
    ),
]


@get(
    "/api/payments/{payment_id:uuid}/events",
    operation_id="followPayment",
    opt=TOKEN_IN_QUERY,
    tags=["payments"],
    media_type="text/event-stream",
    description=DESCRIPTION,
    response_description="Server-sent events, each a Payment",
)
async def payment_events(
    payment_id: FromPath[UUID], request: Request[Principal, Any, Any], services: ServicesDep, token: TokenQuery = None
) -> ServerSentEvent:
    """A payment's status, live (server-sent events)."""
    watch = await services.reader.watch(request.user.user_id, payment_id)
    changes = services.reader.changes(watch, KEEPALIVE_SECONDS, STREAM_SECONDS)
    return ServerSentEvent(_messages(changes, services.read_side))


async def _messages(
    changes: AsyncIterator[PaymentView | None], side: ReadSide
) -> AsyncIterator[ServerSentEventMessage]:
    retry: int | None = RETRY_MILLISECONDS
    async for view in changes:
        if view is None:
            yield ServerSentEventMessage(data=None, comment="keep-alive")
            continue
        body = msgspec.json.encode(Payment.of(view)).decode()
        yield ServerSentEventMessage(data=body, event="payment", id=view.updated_at.isoformat(), retry=retry)
        retry = None
    if side.stopping:
        yield ServerSentEventMessage(data='{"reconnect": true}', event="reconnect", retry=RECONNECT_MILLISECONDS)
