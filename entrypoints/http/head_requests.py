"""HEAD on a GET route answers as that GET would, without the body (RFC 9110, 9.3.2)."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send


class HeadAsGet:
    """Litestar routes HEAD only where a handler declares it: this layer hands the router a GET instead, sends
    the GET's status and headers (Content-Length included), and ends the body at once. A streamed answer, such
    as an event stream, is then told the client has gone."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "HEAD":
            await self._app(scope, receive, send)
            return
        scope["method"] = "GET"  # on this very scope: the observer around it reads the route the router sets here
        answered = False

        async def receive_until_answered() -> ReceiveMessage:
            return {"type": "http.disconnect"} if answered else await receive()

        async def send_without_body(message: Message) -> None:
            nonlocal answered
            if answered:
                return
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body":
                answered = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self._app(scope, receive_until_answered, send_without_body)
