"""Calling an ASGI app directly, for the lanes beside the router: a request's scope, its messages, the answer."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from litestar.types import Message, ReceiveMessage, Scope


def scope_of(
    method: str, path: str, query: bytes = b"", headers: Mapping[str, str] | Sequence[tuple[str, str]] = ()
) -> Scope:
    """An HTTP/1.1 request's scope as uvicorn makes it (header names lowercased; pairs may repeat a name)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return {  # type: ignore[return-value]
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in pairs],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def call(app: Any, scope: Scope, messages: Sequence[ReceiveMessage] = ()) -> list[Message]:
    """`app` called with `scope`; `messages` received in turn, then the client's going away."""
    pending = list(messages)
    sent: list[Message] = []

    async def receive() -> ReceiveMessage:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def answer_of(sent: Sequence[Message]) -> tuple[int, dict[bytes, bytes], bytes]:
    """The status, headers and whole body an app sent."""
    start, *rest = sent
    assert start["type"] == "http.response.start"
    content = b"".join(m["body"] for m in rest if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), content
