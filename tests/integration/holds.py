"""A switch that makes a fake gateway stall: it keeps its answer to requests until the test releases them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

LONGEST_HOLD_SECONDS = 60.0


@dataclass
class Hold:
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def keep(self) -> None:
        """Called by the fake for a held request: says it arrived, then waits for the release."""
        self.arrived.set()
        self.released.wait(LONGEST_HOLD_SECONDS)

    def wait_arrived(self, timeout: float = 30.0) -> None:
        assert self.arrived.wait(timeout), "the held request never reached the fake gateway"

    def release(self) -> None:
        self.released.set()
