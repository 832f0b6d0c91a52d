"""A serving process's collector: what exists once the app is built is frozen, and collections are rarer."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from entrypoints.garbage import MIDDLE, OLDEST, YOUNGEST, tune_for_serving


@pytest.fixture
def restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored")
def test_serving_freezes_what_exists_and_collects_the_young_generation_a_hundred_times_less_often() -> None:
    kept = [[n] for n in range(1_000)]  # built before serving: lives as long as the process

    tune_for_serving()

    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == (YOUNGEST, MIDDLE, OLDEST)
    assert YOUNGEST >= 100 * 700  # CPython's default is 700
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1  # cycles made after it are still collected
