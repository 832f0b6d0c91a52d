"""A process of `mcpay` that crashes in C code leaves every thread's Python traceback on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CRASH_AFTER_A_COMMAND = (
    "import faulthandler, threading\n"
    "from entrypoints.cli import main\n"
    "main(['keygen'])\n"
    "def crash_in_a_thread():\n"
    "    faulthandler._sigsegv()\n"
    "thread = threading.Thread(target=crash_in_a_thread, name='event-loop')\n"
    "thread.start()\n"
    "thread.join()\n"
)


def test_a_segfault_in_any_thread_prints_the_tracebacks_of_all_threads() -> None:
    crashed = subprocess.run(  # noqa: S603 (our own fixed script)
        [sys.executable, "-c", CRASH_AFTER_A_COMMAND], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert crashed.returncode < 0  # killed by the signal, after the traceback was written
    assert "Fatal Python error: Segmentation fault" in crashed.stderr
    assert "in crash_in_a_thread" in crashed.stderr
    assert "Thread 0x" in crashed.stderr and "(most recent call first)" in crashed.stderr
