"""How a long job tells its caller how far it got (a command line draws it as a bar)."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]
"""Called with (done, total) as the job advances; `total` is what the job knows it has to do."""


def unobserved(done: int, total: int) -> None:
    """The default: nobody is watching."""
