"""The PostgreSQL server the benchmarks use (each run in a schema of its own: `tests.processes.fresh_schema`)."""

from __future__ import annotations

import os

import psycopg

from benchmarks._machine import describe

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_server() -> str | None:
    """BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local default; None when it does not answer."""
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER
    try:
        with psycopg.connect(url, connect_timeout=3):
            return url
    except psycopg.Error:
        return None


def described_server() -> str | None:
    """The server, once the machine and its version are printed (None, saying so, when there is none)."""
    server = postgres_server()
    if server is None:
        print("  skipped: no PostgreSQL (set BENCH_DATABASE_URL or TEST_DATABASE_URL)")
        return None
    print(describe(server_version(server)))
    return server


def server_version(server: str) -> str:
    with psycopg.connect(server) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"
