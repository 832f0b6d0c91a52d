"""Bearer-token authentication and role guards."""

from __future__ import annotations

from typing import Any

import anyio
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware

from application.errors import Forbidden, Unauthenticated
from application.identity import Principal
from entrypoints.bootstrap import Services

PUBLIC = {"exclude_from_auth": True}
TOKEN_IN_QUERY = {"token_in_query": True}  # routes a browser EventSource opens: it cannot send headers


class BearerTokenAuth(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        scheme, _, token = connection.headers.get("authorization", "").partition(" ")
        if not token.strip() and connection.route_handler.opt.get("token_in_query"):
            scheme, token = "bearer", connection.query_params.get("token", "")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send Authorization: Bearer <token>")
        services: Services = connection.app.state.services
        token = token.strip()
        principal = services.identity.authenticate_in_memory(token)  # no thread hop when memory can tell
        if principal is None:
            principal = await anyio.to_thread.run_sync(services.identity.authenticate, token)
        return AuthenticationResult(user=principal, auth=token)


bearer_auth = DefineMiddleware(BearerTokenAuth, exclude=["^/schema"])


def requires(role: str) -> Any:
    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            return  # the automatic answer names the allowed methods only; authentication skips it too
        principal: Principal = connection.user
        if not principal.has(role):
            raise Forbidden(f"this needs the {role} role")

    return guard
