from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from nacl.signing import SigningKey

from adapters.identity import Ed25519Signatures, JwtTokens
from adapters.persistence import persistence_env
from application.errors import Invalid, Unauthenticated
from application.identity import IdentityService, IdentityStore, Session
from application.revocations import RevokedSessions
from tests.unit.fakes import FakeClock

pytestmark = pytest.mark.unit

SECRET = "s" * 32
SESSION_TTL = timedelta(hours=12)
ADMIN = SigningKey(bytes(range(32)))
AUDITOR = SigningKey(bytes(range(1, 33)))


def public_hex(key: SigningKey) -> str:
    return key.verify_key.encode().hex()


def sign(key: SigningKey, challenge: str) -> str:
    return key.sign(challenge.encode()).signature.hex()


@pytest.fixture
def store() -> Iterator[IdentityStore]:
    app = IdentityStore(env=persistence_env("memory:"))
    yield app
    app.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def identity_service(
    store: IdentityStore, clock: FakeClock, secret: str = SECRET, revoked: RevokedSessions | None = None
) -> IdentityService:
    return IdentityService(
        store,
        JwtTokens(secret),
        Ed25519Signatures(),
        clock,
        admins=[public_hex(ADMIN)],
        auditors=[public_hex(AUDITOR)],
        session_ttl=SESSION_TTL,
        revoked=revoked,
    )


@pytest.fixture
def identity(store: IdentityStore, clock: FakeClock) -> IdentityService:
    return identity_service(store, clock)


@pytest.fixture
def user() -> SigningKey:
    return SigningKey.generate()


def sign_in(identity: IdentityService, key: SigningKey) -> Session:
    challenge = identity.challenge(public_hex(key)).challenge
    return identity.open_session(public_hex(key), challenge, sign(key, challenge))


def test_a_signed_challenge_opens_a_session_for_the_key(
    identity: IdentityService, clock: FakeClock, user: SigningKey
) -> None:
    issued = identity.challenge(public_hex(user))
    assert issued.expires_at == clock.now() + timedelta(minutes=5)
    session = identity.open_session(public_hex(user), issued.challenge, sign(user, issued.challenge))
    assert session.user_id == public_hex(user)
    assert session.expires_at == clock.now() + SESSION_TTL
    principal = identity.authenticate(session.token)
    assert principal.user_id == principal.public_key == public_hex(user)
    assert principal.roles == ("user",)


def test_every_challenge_is_different(identity: IdentityService, user: SigningKey) -> None:
    assert identity.challenge(public_hex(user)).challenge != identity.challenge(public_hex(user)).challenge


def test_a_challenge_answers_only_once(identity: IdentityService, user: SigningKey) -> None:
    challenge = identity.challenge(public_hex(user)).challenge
    identity.open_session(public_hex(user), challenge, sign(user, challenge))
    with pytest.raises(Unauthenticated, match="already used"):
        identity.open_session(public_hex(user), challenge, sign(user, challenge))


def test_a_challenge_is_good_for_just_under_five_minutes(
    identity: IdentityService, clock: FakeClock, user: SigningKey
) -> None:
    challenge = identity.challenge(public_hex(user)).challenge
    clock.advance(timedelta(minutes=5) - timedelta(seconds=1))
    identity.open_session(public_hex(user), challenge, sign(user, challenge))


def test_a_challenge_expires_after_five_minutes(identity: IdentityService, clock: FakeClock, user: SigningKey) -> None:
    challenge = identity.challenge(public_hex(user)).challenge
    clock.advance(timedelta(minutes=5))
    with pytest.raises(Unauthenticated, match="expired"):
        identity.open_session(public_hex(user), challenge, sign(user, challenge))


def test_a_signature_by_another_key_is_refused(identity: IdentityService, user: SigningKey) -> None:
    challenge = identity.challenge(public_hex(user)).challenge
    with pytest.raises(Unauthenticated, match="signature"):
        identity.open_session(public_hex(user), challenge, sign(SigningKey.generate(), challenge))


@pytest.mark.parametrize("signature", ["00" * 64, "zz" * 64, "", "abc"])
def test_a_bad_signature_is_refused(identity: IdentityService, user: SigningKey, signature: str) -> None:
    challenge = identity.challenge(public_hex(user)).challenge
    with pytest.raises(Unauthenticated, match="signature"):
        identity.open_session(public_hex(user), challenge, signature)


def test_a_signature_over_other_bytes_is_refused(identity: IdentityService, user: SigningKey) -> None:
    challenge = identity.challenge(public_hex(user)).challenge
    with pytest.raises(Unauthenticated, match="signature"):
        identity.open_session(public_hex(user), challenge, sign(user, challenge + "x"))


def test_a_refused_signature_does_not_use_up_the_challenge(identity: IdentityService, user: SigningKey) -> None:
    challenge = identity.challenge(public_hex(user)).challenge
    with pytest.raises(Unauthenticated):
        identity.open_session(public_hex(user), challenge, "00" * 64)
    identity.open_session(public_hex(user), challenge, sign(user, challenge))


def test_a_challenge_issued_for_another_key_is_refused(identity: IdentityService, user: SigningKey) -> None:
    other = SigningKey.generate()
    challenge = identity.challenge(public_hex(other)).challenge
    with pytest.raises(Unauthenticated, match="another key"):
        identity.open_session(public_hex(user), challenge, sign(user, challenge))


def test_a_token_signed_with_another_secret_is_refused(
    identity: IdentityService, store: IdentityStore, clock: FakeClock, user: SigningKey
) -> None:
    elsewhere = identity_service(store, clock, secret="t" * 32)
    session = sign_in(elsewhere, user)
    with pytest.raises(Unauthenticated):
        identity.authenticate(session.token)


def test_a_challenge_from_another_secret_is_refused(
    identity: IdentityService, store: IdentityStore, clock: FakeClock, user: SigningKey
) -> None:
    challenge = identity_service(store, clock, secret="t" * 32).challenge(public_hex(user)).challenge
    with pytest.raises(Unauthenticated):
        identity.open_session(public_hex(user), challenge, sign(user, challenge))


def test_a_challenge_is_not_a_session_token(identity: IdentityService, user: SigningKey) -> None:
    challenge = identity.challenge(public_hex(user)).challenge
    with pytest.raises(Unauthenticated):
        identity.authenticate(challenge)


def test_a_session_token_is_not_a_challenge(identity: IdentityService, user: SigningKey) -> None:
    token = sign_in(identity, user).token
    with pytest.raises(Unauthenticated):
        identity.open_session(public_hex(user), token, sign(user, token))


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c"])
def test_garbage_tokens_are_refused(identity: IdentityService, token: str) -> None:
    with pytest.raises(Unauthenticated):
        identity.authenticate(token)


def test_a_closed_session_token_stops_working_at_once(identity: IdentityService, user: SigningKey) -> None:
    token = sign_in(identity, user).token
    principal = identity.authenticate(token)
    identity.close_session(principal)
    with pytest.raises(Unauthenticated, match="ended"):
        identity.authenticate(token)


def test_closing_a_session_twice_is_harmless(identity: IdentityService, user: SigningKey) -> None:
    principal = identity.authenticate(sign_in(identity, user).token)
    identity.close_session(principal)
    identity.close_session(principal)


def test_closing_one_session_leaves_the_others_open(identity: IdentityService, user: SigningKey) -> None:
    first, second = sign_in(identity, user).token, sign_in(identity, user).token
    identity.close_session(identity.authenticate(first))
    assert identity.authenticate(second).user_id == public_hex(user)


def test_a_session_expires_after_its_time_to_live(
    identity: IdentityService, clock: FakeClock, user: SigningKey
) -> None:
    token = sign_in(identity, user).token
    clock.advance(SESSION_TTL - timedelta(seconds=1))
    identity.authenticate(token)
    clock.advance(timedelta(seconds=1))
    with pytest.raises(Unauthenticated, match="expired"):
        identity.authenticate(token)


def test_admin_and_auditor_keys_carry_their_roles(identity: IdentityService) -> None:
    assert identity.authenticate(sign_in(identity, ADMIN).token).roles == ("user", "admin")
    auditor = identity.authenticate(sign_in(identity, AUDITOR).token)
    assert auditor.roles == ("user", "auditor")
    assert auditor.has("auditor")
    assert not auditor.has("admin")


def test_a_key_can_be_both_admin_and_auditor(store: IdentityStore, clock: FakeClock) -> None:
    key = public_hex(ADMIN)
    both = IdentityService(
        store, JwtTokens(SECRET), Ed25519Signatures(), clock, admins=[key], auditors=[key], session_ttl=SESSION_TTL
    )
    assert both.roles_of(key) == ("user", "admin", "auditor")


@pytest.mark.parametrize("public_key", ["", "abc", "A" * 64, "g" * 64, "a" * 63, "a" * 65, " " + "a" * 63])
def test_a_malformed_public_key_is_invalid(identity: IdentityService, public_key: str) -> None:
    with pytest.raises(Invalid, match="64 lowercase hex"):
        identity.challenge(public_key)
    with pytest.raises(Invalid):
        identity.open_session(public_key, "challenge", "00" * 64)


def remembering_service(store: IdentityStore, clock: FakeClock) -> IdentityService:
    revoked = RevokedSessions(store, follow=None)
    revoked.catch_up()
    return identity_service(store, clock, revoked=revoked)


def test_without_revocations_in_memory_only_the_store_can_tell(identity: IdentityService, user: SigningKey) -> None:
    session = sign_in(identity, user)
    assert identity.authenticate_in_memory(session.token) is None
    assert identity.authenticate(session.token).user_id == public_hex(user)


def test_memory_answers_and_a_closed_session_is_refused_from_memory_at_once(
    store: IdentityStore, clock: FakeClock, user: SigningKey
) -> None:
    identity = remembering_service(store, clock)
    session = sign_in(identity, user)
    principal = identity.authenticate_in_memory(session.token)
    assert principal is not None and principal.user_id == public_hex(user)
    identity.close_session(principal)
    with pytest.raises(Unauthenticated, match="ended"):
        identity.authenticate_in_memory(session.token)
    with pytest.raises(Unauthenticated, match="ended"):
        identity.authenticate(session.token)


def test_a_token_checked_before_still_expires_on_time(store: IdentityStore, clock: FakeClock, user: SigningKey) -> None:
    identity = remembering_service(store, clock)
    session = sign_in(identity, user)
    assert identity.authenticate_in_memory(session.token) is not None  # its signature checked, and kept
    clock.advance(SESSION_TTL)
    with pytest.raises(Unauthenticated, match="expired"):
        identity.authenticate_in_memory(session.token)
    with pytest.raises(Unauthenticated, match="expired"):
        identity.authenticate(session.token)
