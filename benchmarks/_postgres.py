"""The PostgreSQL server the benchmarks use (each run in a schema of its own: `tests.processes.fresh_schema`)."""

from __future__ import annotations

import os

import psycopg

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_server() -> str | None:
    """BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local default; None when it does not answer."""
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER
    try:
        with psycopg.connect(url, connect_timeout=3):
            return url
    except psycopg.Error:
        return None


def server_version(server: str) -> str:
    with psycopg.connect(server) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"
