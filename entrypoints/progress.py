"""Progress bars for the long commands (rich), drawn on a terminal only: piped or redirected output stays plain."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

REPORT_EVERY = 1024  # lines between two updates of a file's bar


class ProgressBar:
    """`label ━━━━━━━╸━━━━ 1234/5000 0:00:03`, on `stream` (stderr), while the block runs. Its `report` is the
    application's Progress callback: (done, total)."""

    def __init__(self, label: str, stream: TextIO | None = None, *, enabled: bool = True, **console: Any) -> None:
        terminal = Console(file=stream or sys.stderr, **console)
        self.shown = enabled and terminal.is_terminal
        self._bar = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=terminal,
            disable=not self.shown,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressBar:
        self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._bar.stop()

    def report(self, done: int, total: int) -> None:
        if not self.shown:
            return
        if self._task is None:
            self._task = self._bar.add_task("", total=total)
        self._bar.update(self._task, completed=done, total=total)

    def track(self, lines: Iterable[bytes], total_bytes: int) -> Iterator[bytes]:
        """The lines of a file, unchanged, the bar counting their bytes."""
        done = 0
        self.report(0, total_bytes)
        for count, line in enumerate(lines, start=1):
            done += len(line)
            if count % REPORT_EVERY == 0:
                self.report(done, total_bytes)
            yield line
        self.report(done, total_bytes)


def add_no_progress(command: Any) -> None:
    command.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
