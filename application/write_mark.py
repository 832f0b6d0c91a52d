"""How far this process has written into the log: the read side waits for that much to be projected."""

from __future__ import annotations

import threading


class WriteMark:
    """The highest log position saved by this process; only ever rises, whichever thread saves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.position = 0

    def raise_to(self, position: int) -> None:
        with self._lock:
            self.position = max(self.position, position)
