"""The asyncpg read side keeps each pool in the event loop that opened it: never driven from a second loop."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from adapters.read_side.asyncpg_queries import AsyncpgQueries, PoolOfAnotherLoop
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.settings import Settings
from tests.integration.read_side_support import in_a_fresh_loop
from tests.integration.support import SESSION_SECRET

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def services(postgres_url: str) -> Iterator[Services]:
    built = bootstrap(Settings(database_url=postgres_url, session_secret=SESSION_SECRET))
    yield built
    built.close()


class LoopInAThread:
    """An event loop running in a thread of its own (as a test client's portal or a served app runs one) that
    opens the model's pool and holds on until let go, leaving the pool open."""

    def __init__(self, model: AsyncpgQueries) -> None:
        self.model = model
        self.opened = threading.Event()
        self.let_go = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = ThreadPoolExecutor(1)
        self.done: Future[int] = self._thread.submit(asyncio.run, self._hold())

    async def _hold(self) -> int:
        self.loop = asyncio.get_running_loop()
        position = await self.model.position()
        self.opened.set()
        while not self.let_go.is_set():
            await asyncio.sleep(0.01)
        return position

    def ask(self) -> int:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(self.model.position(), self.loop).result(timeout=10)

    def finish(self) -> int:
        self.let_go.set()
        position = self.done.result(timeout=10)
        self._thread.shutdown()
        return position


def test_a_second_loop_is_refused_the_pool_a_running_loop_holds(services: Services) -> None:
    model = services.read_side.model
    assert isinstance(model, AsyncpgQueries)
    first = LoopInAThread(model)
    try:
        assert first.opened.wait(10)

        with pytest.raises(PoolOfAnotherLoop):
            in_a_fresh_loop(model.position)

        assert first.ask() == services.read_side.projector.store.position()  # its own loop still reads
    finally:
        first.finish()


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # the dead loop's pool: its sockets close when collected
def test_once_the_loop_that_opened_the_pool_is_gone_another_loop_reads_through_a_pool_of_its_own(
    services: Services,
) -> None:
    model = services.read_side.model
    assert isinstance(model, AsyncpgQueries)
    first = LoopInAThread(model)
    assert first.opened.wait(10)
    first.finish()  # its loop closed, its pool never closed

    async def position_then_close() -> int:
        try:
            return await model.position()
        finally:
            await model.close()

    assert in_a_fresh_loop(position_then_close) == services.read_side.projector.store.position()
    gc.collect()  # here, not in a later test
