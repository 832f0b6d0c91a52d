"""SIGTERM (or Ctrl-C) ends the open event streams at once, so that the server's graceful shutdown is quick."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from litestar import Litestar

from entrypoints.bootstrap import Services

EXIT_SIGNALS = (signal.SIGTERM, signal.SIGINT)
Handler = Callable[[int, FrameType | None], Any]


@asynccontextmanager
async def end_streams_on_exit_signals(app: Litestar) -> AsyncIterator[None]:
    """Runs inside the server's own signal handling (uvicorn installs it before the lifespan starts): each exit
    signal first tells the read side's followers to end, then goes on to the server's handler, which stops
    accepting and waits for in-flight requests, the streams among them."""
    services: Services = app.state.services
    loop = asyncio.get_running_loop()
    installed: dict[signal.Signals, Handler] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in EXIT_SIGNALS:
            previous = signal.getsignal(sig)
            if callable(previous):  # a server's handler: without one, the signal keeps its default meaning
                installed[sig] = previous
                signal.signal(sig, _chained(loop, services.read_side.stop_following, previous))
    try:
        yield
    finally:
        for sig, previous in installed.items():
            signal.signal(sig, previous)


def _chained(loop: asyncio.AbstractEventLoop, first: Callable[[], None], then: Handler) -> Handler:
    def handle(sig: int, frame: FrameType | None) -> Any:
        loop.call_soon_threadsafe(first)
        return then(sig, frame)

    return handle
