"""The long commands' progress bar: drawn on a terminal, silent otherwise, and never in the way of the work."""

from __future__ import annotations

import io

import pytest

from entrypoints.progress import ProgressBar

pytestmark = pytest.mark.unit

LINES = [b"x" * 99 + b"\n"] * 3000


def terminal_bar(stream: io.StringIO, enabled: bool = True) -> ProgressBar:
    return ProgressBar("verifying", stream, enabled=enabled, force_terminal=True, width=80)


def test_on_a_terminal_the_bar_ends_with_everything_done() -> None:
    stream = io.StringIO()
    with terminal_bar(stream) as bar:
        assert list(bar.track(LINES, len(LINES) * 100)) == LINES

    drawn = stream.getvalue()
    assert "verifying" in drawn
    assert f"{len(LINES) * 100}/{len(LINES) * 100}" in drawn


def test_reports_of_done_and_total_move_the_bar() -> None:
    stream = io.StringIO()
    with terminal_bar(stream) as bar:
        for done in range(0, 501, 100):
            bar.report(done, 500)

    assert "500/500" in stream.getvalue()


@pytest.mark.parametrize("terminal", [False, True])
def test_off_a_terminal_or_when_turned_off_nothing_is_drawn(terminal: bool) -> None:
    stream = io.StringIO()
    bar = terminal_bar(stream, enabled=False) if terminal else ProgressBar("verifying", stream)
    with bar:
        assert list(bar.track(LINES, len(LINES) * 100)) == LINES
        bar.report(1, 2)

    assert stream.getvalue() == ""
    assert not bar.shown
