"""Revoked sessions from memory: answered only while memory is current, otherwise left to the store."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from adapters.persistence import persistence_env
from application.identity import IdentityStore
from application.revocations import Hear, RevokedSessions
from domain.identity import ChallengeUse, SessionRevocation

pytestmark = pytest.mark.unit


@pytest.fixture
def store() -> Iterator[IdentityStore]:
    app = IdentityStore(env=persistence_env("memory:"))
    yield app
    app.close()


def revoke(store: IdentityStore, session_id: str) -> None:
    store.record(SessionRevocation(session_id=session_id))


class Follower:
    """Stands for a LISTEN connection: the test says when it connects, hears and breaks."""

    def __init__(self) -> None:
        self.heard: Hear = lambda: None
        self.listening: Hear = lambda: None
        self.lost: Hear = lambda: None

    async def __call__(self, heard: Hear, listening: Hear, lost: Hear) -> None:
        self.heard, self.listening, self.lost = heard, listening, lost
        await anyio.sleep_forever()


def test_a_single_writer_knows_after_reading_the_log(store: IdentityStore) -> None:
    revoke(store, "ended-before-start")
    store.record(ChallengeUse(nonce="n", public_key="k"))  # other records in the log are passed over
    revoked = RevokedSessions(store, follow=None)
    assert revoked.revoked(SessionRevocation.create_id("ended-before-start")) is None  # not read yet
    revoked.catch_up()
    assert revoked.revoked(SessionRevocation.create_id("ended-before-start")) is True
    assert revoked.revoked(SessionRevocation.create_id("live")) is False
    revoked.add(SessionRevocation.create_id("live"))  # ended here: known at once
    assert revoked.revoked(SessionRevocation.create_id("live")) is True


def test_a_followed_log_is_trusted_only_while_heard_and_read_up_to_the_last_notification(
    store: IdentityStore,
) -> None:
    follower = Follower()
    revoked = RevokedSessions(store, follow=follower)
    record = SessionRevocation.create_id("s1")

    async def scenario() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(revoked.keep_current, 3600.0)
            await anyio.sleep(0.05)
            assert revoked.revoked(record) is None  # not listening yet: ask the store
            follower.listening()
            await settle()
            assert revoked.revoked(record) is False

            revoke(store, "s1")  # another process ends the session...
            follower.heard()  # ...and its NOTIFY arrives: until the log is read, memory cannot tell
            assert revoked.revoked(record) is None
            await settle()
            assert revoked.revoked(record) is True

            follower.lost()
            assert revoked.revoked(record) is None
            tasks.cancel_scope.cancel()

    async def settle() -> None:
        with anyio.fail_after(5):
            while revoked.revoked(SessionRevocation.create_id("probe")) is None:
                await anyio.sleep(0.01)

    anyio.run(scenario)
