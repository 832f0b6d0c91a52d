"""Records that make sign-in challenges single-use and sessions revocable."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

_CHALLENGES = uuid5(NAMESPACE_URL, "mcpay:challenge")
_SESSIONS = uuid5(NAMESPACE_URL, "mcpay:session")


class ChallengeUse(Aggregate):
    """Exists once a challenge has been answered; a second answer collides with it."""

    @staticmethod
    def create_id(nonce: str) -> UUID:
        return uuid5(_CHALLENGES, nonce)

    @event("ChallengeAnswered")
    def __init__(self, nonce: str, public_key: str) -> None:
        self.public_key = public_key


class SessionRevocation(Aggregate):
    """Exists once a session was ended; its token is refused from then on."""

    @staticmethod
    def create_id(session_id: str) -> UUID:
        return uuid5(_SESSIONS, session_id)

    @event("SessionRevoked")
    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
