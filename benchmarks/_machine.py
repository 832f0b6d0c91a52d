"""What the figures were measured on: printed beside every benchmark's figures."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


def describe(postgres_version: str | None = None) -> str:
    """CPU model, cores, RAM, Python (and PostgreSQL) versions, and the load average when the run started."""
    parts = [
        f"CPU {_cpu_model()}",
        f"{os.cpu_count()} cores",
        f"RAM {_ram_gib():.0f} GiB",
        f"Python {platform.python_version()}",
    ]
    if postgres_version:
        parts.append(f"PostgreSQL {postgres_version} (psycopg {psycopg.__version__}, {psycopg.pq.__impl__})")
    one, five, _ = os.getloadavg()
    parts.append(f"load average {one:.1f} (1 min), {five:.1f} (5 min) at start")
    return "machine: " + ", ".join(parts)


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user and system) used so far by a process and every live process below it (a server's workers)."""
    stats = _process_stats()
    return sum(stats.get(member, (0, 0.0))[1] for member in _tree(pid, stats))


def children_cpu(pid: int) -> dict[int, float]:
    """CPU seconds used so far by each live child of a process with everything below it: a supervisor's workers."""
    stats = _process_stats()
    children = [child for child, (parent, _) in stats.items() if parent == pid]
    return {child: sum(stats.get(member, (0, 0.0))[1] for member in _tree(child, stats)) for child in children}


def _process_stats() -> dict[int, tuple[int, float]]:
    """Each live process's parent and CPU seconds (utime + stime)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _read(f"/proc/{entry.name}/stat").rsplit(")", 1)[-1].split()
            if len(fields) > 12:
                stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    return stats


def _tree(pid: int, stats: dict[int, tuple[int, float]]) -> set[int]:
    tree = {pid}
    for _ in range(4):  # supervisor, workers and their helpers: a few levels at most
        tree |= {child for child, (parent, _) in stats.items() if parent in tree}
    return tree


def machine_cpu() -> float:
    """CPU seconds every core has spent busy so far (all of /proc/stat's time but idle and iowait)."""
    fields = [int(value) for value in _read("/proc/stat").splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def commands_cpu(names: frozenset[str]) -> dict[str, float]:
    """CPU seconds used so far by the live processes of each command name (e.g. every `postgres` process)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = dict.fromkeys(names, 0.0)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            name, _, rest = _read(f"/proc/{entry.name}/stat").partition(" (")[2].rpartition(")")
            fields = rest.split()
            if name in used and len(fields) > 12:
                used[name] += (int(fields[11]) + int(fields[12])) / ticks
    return used


@contextmanager
def profiling(pid: int, folder: Path | None, name: str) -> Iterator[Path | None]:
    """py-spy (a development dependency, ADR 42) sampling `pid` and its workers while the block runs, written to
    `folder/name.txt` in its raw (collapsed stacks) format, the file's path given to the block (read it once the
    block has ended); nothing without a folder."""
    if folder is None:
        yield None
        return
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / f"{name}.txt"
    command = ["py-spy", "record", "--pid", str(pid), "--subprocesses", "--gil", "--threads", "-r", "200"]
    spy = subprocess.Popen([*command, "-f", "raw", "-o", str(output)], stdout=subprocess.DEVNULL)  # noqa: S603
    try:
        yield output
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
        spy.wait(timeout=60)
        print(f"  py-spy profile of the server: {output}")


# Where a sample of the served process's GIL falls, by the frames on its stack: the first part whose frame it holds.
# The event loop's two costliest pieces are told apart from the rest of it.
PARTS = (
    ("the writer", ("GroupWriter._run",)),
    ("the projector", ("Projector.run_once",)),
    ("the event loop: the webhook lane", ("WebhookLane.__call__",)),
    ("the event loop: the access line", ("_observe",)),
    ("the event loop: the rest", ("Runner.run",)),
)
OTHER_PART = "other threads"


def gil_parts(profile: Path) -> dict[str, float]:
    """Each part's share of the GIL samples of a py-spy raw profile (`profiling`), in PARTS' order, then the rest."""
    counts = dict.fromkeys([name for name, _ in PARTS] + [OTHER_PART], 0)
    for line in profile.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        functions = {frame.split(" (", 1)[0] for frame in stack.split(";")}
        part = next((name for name, marks in PARTS if not functions.isdisjoint(marks)), OTHER_PART)
        counts[part] += int(samples)
    total = sum(counts.values())
    return {name: count / total for name, count in counts.items()} if total else {}
