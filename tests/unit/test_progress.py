"""The verify progress bar: drawn on a terminal for long files, silent otherwise."""

from __future__ import annotations

import io

import pytest

from entrypoints.progress import WORTH_SHOWING, ProgressBar

pytestmark = pytest.mark.unit


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_long_file_on_a_terminal_gets_a_bar_that_ends_full() -> None:
    terminal = Terminal()
    lines = [b"x" * 1023 + b"\n"] * (WORTH_SHOWING // 1024)
    bar = ProgressBar(WORTH_SHOWING, terminal, "verifying")

    assert list(bar.track(lines)) == lines
    bar.close()

    assert terminal.getvalue().endswith(f"\rverifying 100% [{'#' * 30}] {len(lines):,} lines\n")


@pytest.mark.parametrize(
    ("stream", "size", "enabled"),
    [(io.StringIO(), WORTH_SHOWING, True), (Terminal(), 100, True), (Terminal(), WORTH_SHOWING, False)],
    ids=["not a terminal", "short file", "--no-progress"],
)
def test_no_bar_otherwise(stream: io.StringIO, size: int, enabled: bool) -> None:
    bar = ProgressBar(size, stream, "verifying", enabled)

    list(bar.track([b"{}\n"] * 5000))
    bar.close()

    assert stream.getvalue() == ""
