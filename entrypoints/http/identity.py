"""/api/auth: keypair sign-in."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from application.identity import Principal
from entrypoints.http.auth import PUBLIC
from entrypoints.http.dependencies import ServicesDep
from entrypoints.http.rate_limits import RATE_LIMITED, limit_sign_in
from entrypoints.http.schemas import ChallengeRequest, ChallengeResponse, Me, SessionRequest, SessionResponse


class IdentityController(Controller):
    path = "/api/auth"
    tags = ("identity",)

    @post(
        "/challenge",
        operation_id="createChallenge",
        opt=PUBLIC,
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        before_request=limit_sign_in,
        responses=RATE_LIMITED,
    )
    def challenge(self, data: JSONBody[ChallengeRequest], services: ServicesDep) -> ChallengeResponse:
        """A single-use challenge for an ed25519 public key to sign; valid five minutes."""
        return ChallengeResponse.of(services.identity.challenge(data.public_key))

    @post(
        "/session",
        operation_id="openSession",
        opt=PUBLIC,
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        before_request=limit_sign_in,
        responses=RATE_LIMITED,
    )
    def open_session(self, data: JSONBody[SessionRequest], services: ServicesDep) -> SessionResponse:
        """A session token for a signed challenge (hex ed25519 signature of the challenge's UTF-8 bytes)."""
        return SessionResponse.of(services.identity.open_session(data.public_key, data.challenge, data.signature))

    @get("/me", sync_to_thread=False, operation_id="whoAmI")
    def me(self, request: Request[Principal, Any, Any]) -> Me:
        """The signed-in key, its user id and its roles."""
        return Me.of(request.user)

    @delete("/session", status_code=HTTP_204_NO_CONTENT, sync_to_thread=True, operation_id="closeSession")
    def close_session(self, request: Request[Principal, Any, Any], services: ServicesDep) -> None:
        """End this session: its token stops working at once."""
        services.identity.close_session(request.user)
