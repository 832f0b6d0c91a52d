"""What the figures were measured on: printed beside every benchmark's figures."""

from __future__ import annotations

import os
import platform
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
