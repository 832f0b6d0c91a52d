"""The webhook benchmark's split of the server's CPU by part, read from a py-spy raw profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks._machine import gil_parts

PROCESS = 'process 7:"python -m entrypoints.cli serve"'
LOOP = f"{PROCESS};thread (0x1);main (entrypoints/cli.py:9);Runner.run (asyncio/runners.py:118)"
RAW = "\n".join(
    [
        f"{PROCESS};thread (0x2);Thread.run (threading.py:975);GroupWriter._run (application/writer.py:90) 30",
        f"{PROCESS};thread (0x3);WorkerThread.run (anyio.py:1);Projector.run_once (application/projection.py:296) 10",
        f"{LOOP};WebhookLane.__call__ (entrypoints/http/webhooks.py:60);deliver (entrypoints/http/webhooks.py:40) 25",
        f"{LOOP};RequestObserver.__call__ (observability.py:62);_observe (observability.py:90) 15",
        f"{LOOP};HttpToolsProtocol.data_received (uvicorn/httptools_impl.py:174) 15",
        f"{PROCESS};thread (0x4);Thread.run (threading.py:975);Queue.get (queue.py:171) 5",
    ]
)


def test_each_sample_counts_for_the_first_part_its_stack_holds(tmp_path: Path) -> None:
    profile = tmp_path / "webhook_credits-1w.txt"
    profile.write_text(RAW + "\n")

    shares = gil_parts(profile)

    assert shares == pytest.approx(
        {
            "the writer": 0.30,
            "the projector": 0.10,
            "the event loop: the webhook lane": 0.25,
            "the event loop: the access line": 0.15,
            "the event loop: the rest": 0.15,
            "other threads": 0.05,
        }
    )


def test_an_empty_profile_has_no_parts(tmp_path: Path) -> None:
    profile = tmp_path / "empty.txt"
    profile.write_text("")

    assert gil_parts(profile) == {}
