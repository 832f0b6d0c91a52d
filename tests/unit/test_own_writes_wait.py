"""A write's answer waits for the read model to hold it: projected here if nobody here is at it, and while every
advance of the read model is heard, without asking the read model where it stands."""

from __future__ import annotations

import threading
from collections.abc import Callable

import anyio
import pytest

from application.metrics import NoMetrics
from application.reading import ReadSide
from application.write_mark import WriteMark

pytestmark = pytest.mark.unit


class ReadModel:
    """Where the read model stands, counting each time it is asked."""

    def __init__(self) -> None:
        self.at = 0
        self.asked = 0

    async def position(self) -> int:
        self.asked += 1
        return self.at


class Projector:
    """Projects up to `head` when run, announcing it as the real one does after each batch it commits (the real one
    says nothing when it had nothing to project; here `head` is always new to the waiter when it runs)."""

    def __init__(self, model: ReadModel) -> None:
        self.model = model
        self.head = 0
        self.runs = 0
        self.busy = threading.Event()  # another thread of this process is projecting
        self._listeners: list[Callable[[int], None]] = []

    @property
    def projecting(self) -> bool:
        return self.busy.is_set()

    def on_projected(self, listener: Callable[[int], None]) -> None:
        self._listeners.append(listener)

    def run_once(self, wait: bool = True) -> int:
        self.runs += 1
        self.model.at = max(self.model.at, self.head)
        for listener in self._listeners:
            listener(self.head)
        return self.head

    def close(self) -> None:
        """Nothing held."""


def read_side() -> tuple[ReadSide, Projector, ReadModel]:
    model = ReadModel()
    projector = Projector(model)
    side = ReadSide(projector, model, WriteMark(), NoMetrics())  # type: ignore[arg-type]
    return side, projector, model


async def waited_while(side: ReadSide, meanwhile: Callable[[], None]) -> tuple[bool, float]:
    """Whether this process's writes were reflected within 2 s, and how long that took, `meanwhile` happening 50 ms
    into the wait."""
    side.progress.attach()
    began = anyio.current_time()
    reached: list[bool] = []

    async def wait() -> None:
        reached.append(await side.reflect_own_writes(2.0))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(wait)
        await anyio.sleep(0.05)
        meanwhile()
    return reached == [True], anyio.current_time() - began


def test_heard_the_wait_projects_here_and_asks_the_read_model_nothing() -> None:
    side, projector, model = read_side()
    side.hearing = True
    side.written.raise_to(5)
    projector.head = model.at = 5

    async def scenario() -> bool:
        side.progress.attach()
        return await side.reflect_own_writes(2.0)

    assert anyio.run(scenario)
    assert (projector.runs, model.asked) == (1, 0)


def test_unheard_the_read_model_is_asked_where_it_stands() -> None:
    side, _, model = read_side()
    side.hearing = False  # no LISTEN (SQLite), or it broke: another process's projection may go unheard
    side.written.raise_to(5)
    model.at = 5  # projected by another process

    async def scenario() -> bool:
        side.progress.attach()
        return await side.reflect_own_writes(2.0)

    assert anyio.run(scenario)
    assert model.asked == 1


def test_while_a_thread_here_projects_the_wait_leaves_it_to_it_and_ends_with_its_batch() -> None:
    side, projector, model = read_side()
    side.hearing = True
    side.written.raise_to(5)
    projector.busy.set()

    def its_batch() -> None:
        side.progress.advance_threadsafe(5)  # the projecting thread's batch, committed and announced

    reached, _ = anyio.run(waited_while, side, its_batch)
    assert reached
    assert (projector.runs, model.asked) == (0, 0)


def test_heard_but_nothing_heard_within_a_recheck_the_read_model_is_asked() -> None:
    side, projector, model = read_side()
    side.hearing = True  # listening again after a break: a NOTIFY sent meanwhile was never heard
    side.written.raise_to(5)
    model.at = 5  # another process projected it; this process missed the news
    projector.head = 0  # and holds no lease: running here projects nothing

    async def scenario() -> tuple[bool, float]:
        side.progress.attach()
        began = anyio.current_time()
        reached = await side.reflect_own_writes(2.0)
        return reached, anyio.current_time() - began

    reached, took = anyio.run(scenario)
    assert reached
    assert model.asked == 1
    assert took < 1.0  # found at the first recheck (0.25 s), not at the wait's end (2 s)


def test_a_projecting_thread_that_ends_before_the_write_leaves_it_to_the_waiter() -> None:
    side, projector, _ = read_side()
    side.hearing = True
    side.written.raise_to(5)
    projector.head = 5
    projector.busy.set()  # it read the log's end before this write committed, and projects nothing more

    def done_saying_nothing() -> None:
        projector.busy.clear()  # it committed no batch

    reached, took = anyio.run(waited_while, side, done_saying_nothing)
    assert reached
    assert projector.runs == 1  # the waiter projected its write itself
    assert took < 1.0
