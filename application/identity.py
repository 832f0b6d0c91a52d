"""Sign-in with an ed25519 keypair: challenge, signed answer, session token, sign-out."""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import Notification

from application.errors import ConcurrentChange, Invalid, Unauthenticated
from application.ports import Clock, SignatureVerifier, Tokens
from application.store_errors import store_errors
from domain.identity import ChallengeUse, SessionRevocation

if TYPE_CHECKING:
    from application.revocations import RevokedSessions

CHALLENGE_TTL = timedelta(minutes=5)
TOKENS_KEPT = 50_000  # session tokens whose signature was checked, kept so the next request skips the check
PUBLIC_KEY = re.compile(r"[0-9a-f]{64}")
STORE = "identity store"


class IdentityStore(Application[UUID]):
    """Used challenges and revoked sessions, apart from the ledger."""

    name = "Identity"

    def record(self, record: ChallengeUse | SessionRevocation) -> None:
        """`ConcurrentChange` when the record is there already (each may be recorded once)."""
        with store_errors(STORE):
            self.save(record)

    def contains(self, aggregate_id: UUID) -> bool:
        try:
            with store_errors(STORE):
                self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def notifications(self, after: int, limit: int) -> Sequence[Notification]:
        """The log after a position, in order."""
        with store_errors(STORE):
            return self.recorder.select_notifications(start=after, limit=limit, inclusive_of_start=False)


@dataclass(frozen=True)
class Challenge:
    challenge: str
    expires_at: datetime


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: datetime
    user_id: str


@dataclass(frozen=True)
class Principal:
    user_id: str
    session_id: str
    roles: tuple[str, ...]

    @property
    def public_key(self) -> str:
        return self.user_id

    def has(self, role: str) -> bool:
        return role in self.roles


class IdentityService:
    def __init__(
        self,
        store: IdentityStore,
        tokens: Tokens,
        signatures: SignatureVerifier,
        clock: Clock,
        admins: Collection[str],
        auditors: Collection[str],
        session_ttl: timedelta,
        revoked: RevokedSessions | None = None,
    ) -> None:
        self._store = store
        self._revoked = revoked
        self._checked: dict[str, tuple[Principal, UUID, int]] = {}  # token: what it says, and until when
        self._checking = threading.Lock()
        self._tokens = tokens
        self._signatures = signatures
        self._clock = clock
        self._admins = frozenset(admins)
        self._auditors = frozenset(auditors)
        self._session_ttl = session_ttl

    def challenge(self, public_key: str) -> Challenge:
        """A single-use challenge for the key to sign, valid for five minutes."""
        _require_public_key(public_key)
        expires = self._clock.now() + CHALLENGE_TTL
        claims = {"typ": "challenge", "sub": public_key, "jti": secrets.token_hex(16), "exp": _epoch(expires)}
        return Challenge(self._tokens.issue(claims), expires)

    def open_session(self, public_key: str, challenge: str, signature: str) -> Session:
        """A session token, once the challenge is shown to be signed by the key."""
        _require_public_key(public_key)
        claims = self._read(challenge, "challenge", "the challenge is not valid or has expired")
        if claims.get("sub") != public_key:
            raise Unauthenticated("the challenge was issued for another key")
        if not self._signatures.verify(public_key, challenge.encode(), signature):
            raise Unauthenticated("the signature does not match the challenge and key")
        try:
            self._store.record(ChallengeUse(nonce=str(claims["jti"]), public_key=public_key))
        except ConcurrentChange:
            raise Unauthenticated("the challenge was already used") from None
        expires = self._clock.now() + self._session_ttl
        session_id = secrets.token_hex(16)
        token = self._tokens.issue({"typ": "session", "sub": public_key, "jti": session_id, "exp": _epoch(expires)})
        return Session(token, expires, public_key)

    def authenticate(self, token: str) -> Principal:
        """The principal a session token speaks for; refuses expired and revoked tokens."""
        principal, record_id = self._claimed(token)
        if self._revoked_in_memory(record_id) or self._store.contains(record_id):
            raise Unauthenticated("the session has ended")
        return principal

    def authenticate_in_memory(self, token: str) -> Principal | None:
        """As `authenticate`, without I/O (call it on the event loop); None when only the store can tell whether
        the session was ended."""
        principal, record_id = self._claimed(token)
        revoked = None if self._revoked is None else self._revoked.revoked(record_id)
        if revoked:
            raise Unauthenticated("the session has ended")
        return None if revoked is None else principal

    def close_session(self, principal: Principal) -> None:
        record_id = SessionRevocation.create_id(principal.session_id)
        with contextlib.suppress(ConcurrentChange):  # already ended
            self._store.record(SessionRevocation(session_id=principal.session_id))
        if self._revoked is not None:
            self._revoked.add(record_id)

    def _claimed(self, token: str) -> tuple[Principal, UUID]:
        """What a session token says, its signature checked once per token (the same text, the same signature);
        its expiry is checked on every use."""
        checked = self._checked.get(token)
        if checked is None:
            claims = self._read(token, "session", "the session token is not valid or has expired")
            session_id, user_id = str(claims["jti"]), str(claims["sub"])
            principal = Principal(user_id, session_id, self.roles_of(user_id))
            checked = (principal, SessionRevocation.create_id(session_id), int(str(claims["exp"])))
            with self._checking:  # handlers in threads check tokens too
                if len(self._checked) >= TOKENS_KEPT:
                    del self._checked[next(iter(self._checked))]
                self._checked[token] = checked
        principal, record_id, expires = checked
        if expires <= _epoch(self._clock.now()):
            self._checked.pop(token, None)
            raise Unauthenticated("the session token is not valid or has expired")
        return principal, record_id

    def _revoked_in_memory(self, record_id: UUID) -> bool:
        return self._revoked is not None and self._revoked.revoked(record_id) is True

    def roles_of(self, public_key: str) -> tuple[str, ...]:
        roles = ["user"]
        if public_key in self._admins:
            roles.append("admin")
        if public_key in self._auditors:
            roles.append("auditor")
        return tuple(roles)

    def _read(self, token: str, kind: str, refusal: str) -> dict[str, object]:
        claims = self._tokens.read(token)
        exp = claims.get("exp")
        if claims.get("typ") != kind or not isinstance(exp, int) or "jti" not in claims or "sub" not in claims:
            raise Unauthenticated(refusal)
        if exp <= _epoch(self._clock.now()):
            raise Unauthenticated(refusal)
        return claims


def _require_public_key(public_key: str) -> None:
    if not PUBLIC_KEY.fullmatch(public_key):
        raise Invalid("public_key must be 64 lowercase hex digits (an ed25519 public key)")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())
