"""The sign-in limiter: a sliding window per key, with an honest wait, in bounded memory."""

from __future__ import annotations

import pytest

from entrypoints.http.rate_limits import SlidingWindow

pytestmark = pytest.mark.unit


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_is_per_key_and_refusals_say_how_long_to_wait() -> None:
    clock = Ticks()
    window = SlidingWindow(3, window=60, clock=clock)

    assert [window.hit("a") for _ in range(3)] == [None, None, None]
    clock.now += 20
    assert window.hit("a") == pytest.approx(40)
    assert window.hit("b") is None


def test_hits_leave_the_window_one_by_one() -> None:
    clock = Ticks()
    window = SlidingWindow(2, window=60, clock=clock)
    window.hit("a")
    clock.now += 30
    window.hit("a")

    clock.now += 30  # the first hit is now 60 s old
    assert window.hit("a") is None
    assert window.hit("a") == pytest.approx(30)


def test_refused_requests_do_not_push_the_wait_further() -> None:
    clock = Ticks()
    window = SlidingWindow(1, window=60, clock=clock)
    window.hit("a")
    for _ in range(10):
        clock.now += 5
        window.hit("a")

    clock.now += 10
    assert window.hit("a") is None


def test_a_limit_of_zero_is_no_limit() -> None:
    window = SlidingWindow(0)

    assert all(window.hit("a") is None for _ in range(1000))


def test_memory_stays_bounded_however_many_keys_are_sent() -> None:
    clock = Ticks()
    window = SlidingWindow(1, window=60, clock=clock, keys_kept=100)
    for number in range(1000):
        window.hit(f"key-{number}")

    assert len(window._hits) <= 100
    assert window.hit("key-999") is not None  # the most recent keys are still limited


def test_idle_keys_are_forgotten() -> None:
    clock = Ticks()
    window = SlidingWindow(1, window=60, clock=clock)
    for number in range(50):
        window.hit(f"key-{number}")
    clock.now += 61

    window.hit("fresh")

    assert list(window._hits) == ["fresh"]
