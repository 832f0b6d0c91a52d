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


def statements_tracked(server: str) -> bool:
    """Whether the server counts its statements (`pg_stat_statements`, which only a server started with it in
    `shared_preload_libraries` does); when it does, its counts start again from zero here."""
    try:
        with psycopg.connect(server, autocommit=True) as connection:
            preloaded = connection.execute("SHOW shared_preload_libraries").fetchone()
            if preloaded is None or "pg_stat_statements" not in str(preloaded[0]):
                return False
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            connection.execute("SELECT pg_stat_statements_reset()")
    except psycopg.Error:
        return False
    return True


def statement_times(server: str, schema: str, limit: int = 8) -> list[tuple[str, float, int]]:
    """The statements on `schema`'s tables since `statements_tracked`, longest first: (the statement's start, its
    schema left out; milliseconds spent executing it in all; how many times it ran)."""
    with psycopg.connect(server) as connection:
        rows = connection.execute(
            "SELECT query, total_exec_time, calls FROM pg_stat_statements WHERE strpos(query, %s) > 0"
            " ORDER BY total_exec_time DESC LIMIT %s",
            (schema, limit),
        ).fetchall()
    return [
        (" ".join(query.replace(f'"{schema}".', "").split())[:70], float(ms), int(calls)) for query, ms, calls in rows
    ]
