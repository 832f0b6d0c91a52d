"""`GET /api/wallet` answered beside the router, from the answer the read side keeps (ADR 63)."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.status_codes import HTTP_200_OK
from litestar.types import ASGIApp, Receive, Scope, Send

from entrypoints.bootstrap import Services
from entrypoints.http.payments import encoded_wallet

WALLET_PATH = "/api/wallet"
JSON_HEADERS = (b"content-type", b"application/json")


class WalletLane:
    """The wallet, straight from the server to the kept answer and back.

    The SPA and every client read their balance with this one request, and its handler does almost nothing:
    answers the encoded wallet the read side keeps until the read model moves on (ADR 44). Through Litestar's
    router, the three middleware of ours that let it through (authentication, declared queries, read-your-writes),
    its signature model, dependency injection and response pipeline, the framework cost several times the
    handler's work. This layer answers, with the handler's bytes, the requests it can tell apart from memory alone:
    a GET of the exact path, no query string, no root path, no `Origin` when CORS is configured, one
    `Authorization: Bearer` header whose session memory vouches for (`authenticate_in_memory`). Everything else
    goes to the app untouched: a missing, malformed, expired or revoked token, a session only the store can vouch
    for, a read that fails (the handler reads again and answers as it would). The handler stays the route's
    definition, in the schema, behind every request the lane does not take, and tested against the lane byte for
    byte."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self._app = app
        self._services = services
        self._cors = bool(services.settings.cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user_id = self._user(scope) if scope["type"] == ScopeType.HTTP and scope["path"] == WALLET_PATH else None
        if user_id is None:
            await self._app(scope, receive, send)
            return
        try:
            answer = await self._services.reader.wallet_answer(user_id, encoded_wallet)
        except Exception:
            await self._app(scope, receive, send)
            return
        scope["path_template"] = WALLET_PATH  # as the router sets it
        length = (b"content-length", str(len(answer)).encode())
        await send({"type": "http.response.start", "status": HTTP_200_OK, "headers": [JSON_HEADERS, length]})
        await send({"type": "http.response.body", "body": answer, "more_body": False})

    def _user(self, scope: Scope) -> str | None:
        """Whose wallet the request reads, when memory alone can tell; None when the app must answer."""
        if scope["method"] != "GET" or scope["query_string"] or scope.get("root_path"):  # type: ignore[typeddict-item]
            return None
        credentials: list[bytes] = []
        origin = False
        for name, value in scope["headers"]:
            lowered = name.lower()  # as uvicorn sends them, but ASGI only asks servers to lowercase them
            if lowered == b"authorization":
                credentials.append(value)
            elif lowered == b"origin":
                origin = True
        if len(credentials) != 1 or (self._cors and origin):
            return None
        scheme, _, token = credentials[0].decode("latin-1").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            principal = self._services.identity.authenticate_in_memory(token)
        except Exception:  # not valid, expired or ended: the app's authentication answers 401
            return None
        return None if principal is None else principal.user_id
