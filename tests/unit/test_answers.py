"""Kept answers stand until this process knows the read model moved past them, or stops hearing it move."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from application.answers import AnswerCache
from application.reading import Beacon
from application.write_mark import WriteMark

pytestmark = pytest.mark.unit


@dataclass
class Watch:
    hearing: bool = True
    hearings: int = 1
    progress: Beacon = field(default_factory=Beacon)
    written: WriteMark = field(default_factory=WriteMark)


def test_an_answer_stands_until_the_read_model_moves_past_it() -> None:
    watch = Watch()
    watch.progress.advance(7)
    cache: AnswerCache[bytes] = AnswerCache(watch)
    cache.put("alice", 7, b"seven")
    assert cache.get("alice") == b"seven"
    watch.progress.advance(8)  # any projected event, whoever's wallet it touched
    assert cache.get("alice") is None
    assert cache.get("alice") is None  # dropped, not revived


def test_an_answer_read_at_a_later_position_than_yet_heard_stands() -> None:
    watch = Watch()
    watch.progress.advance(3)
    cache: AnswerCache[bytes] = AnswerCache(watch)
    cache.put("alice", 5, b"five")  # read from the database, which is ahead of the NOTIFY
    watch.progress.advance(5)
    assert cache.get("alice") == b"five"


def test_an_answer_already_overtaken_is_not_kept() -> None:
    watch = Watch()
    watch.progress.advance(9)
    cache: AnswerCache[bytes] = AnswerCache(watch)
    cache.put("alice", 8, b"eight")  # the read model moved while it was being read
    assert cache.get("alice") is None


def test_this_processs_own_unprojected_write_bypasses_every_answer() -> None:
    watch = Watch()
    watch.progress.advance(4)
    cache: AnswerCache[bytes] = AnswerCache(watch)
    cache.put("alice", 4, b"four")
    watch.written.raise_to(5)  # saved here, not yet projected: a read must wait for it
    assert cache.get("alice") is None


def test_nothing_stands_while_advances_are_not_heard() -> None:
    watch = Watch(hearing=False)
    cache: AnswerCache[bytes] = AnswerCache(watch)
    cache.put("alice", 0, b"zero")
    assert cache.get("alice") is None
    watch.hearing = True
    cache.put("alice", 0, b"zero")
    watch.hearing = False  # the LISTEN connection broke: another process's projection could go unheard
    assert cache.get("alice") is None


def test_nothing_kept_before_a_break_stands_after_it() -> None:
    watch = Watch()
    cache: AnswerCache[bytes] = AnswerCache(watch)
    cache.put("alice", 0, b"zero")
    watch.hearing = False
    watch.hearing, watch.hearings = True, 2  # listening again: a NOTIFY sent meanwhile was never heard
    assert cache.get("alice") is None
    cache.put("alice", 0, b"zero")
    assert cache.get("alice") == b"zero"


def test_the_oldest_kept_answer_goes_first_past_the_limit() -> None:
    cache: AnswerCache[str] = AnswerCache(Watch(), kept=2)
    for user in ("a", "b", "c"):
        cache.put(user, 0, user.upper())
    assert [cache.get(user) for user in ("a", "b", "c")] == [None, "B", "C"]
