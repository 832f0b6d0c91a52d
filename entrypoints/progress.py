"""A one-line progress bar for long files, drawn on a terminal only (no dependency)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TextIO

WIDTH = 30
REDRAW_SECONDS = 0.2
WORTH_SHOWING = 4 * 1024 * 1024  # bytes: smaller files are done before a bar would help


class ProgressBar:
    """Counts bytes and lines read; redraws `label  42% [#####     ] 1,234 lines` a few times a second."""

    def __init__(self, total_bytes: int, stream: TextIO, label: str, enabled: bool = True) -> None:
        self._total = max(total_bytes, 1)
        self._stream = stream
        self._label = label
        self._shown = enabled and total_bytes >= WORTH_SHOWING and stream.isatty()
        self._done = 0
        self._lines = 0
        self._drawn_at = 0.0

    def track(self, lines: Iterable[bytes]) -> Iterator[bytes]:
        for line in lines:
            self._done += len(line)
            self._lines += 1
            if self._shown and self._lines % 1024 == 0 and time.monotonic() - self._drawn_at >= REDRAW_SECONDS:
                self._draw()
            yield line

    def close(self) -> None:
        if self._shown:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self) -> None:
        share = min(self._done / self._total, 1.0)
        filled = int(share * WIDTH)
        bar = "#" * filled + " " * (WIDTH - filled)
        self._stream.write(f"\r{self._label} {share:4.0%} [{bar}] {self._lines:,} lines")
        self._stream.flush()
        self._drawn_at = time.monotonic()
