"""What the tests and the benchmarks share to run mcpay as operators do: a free port, `mcpay serve` in a process of
its own until it answers /readyz, stopped afterwards, and a PostgreSQL schema of its own for each run."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


class NotReady(RuntimeError):
    """The served process exited, or did not answer /readyz in time; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_until_ready(
    url: str, process: subprocess.Popen[bytes], log: Callable[[], str], timeout: float = START_TIMEOUT
) -> None:
    """Poll `url`/readyz until it answers 200; `log` says why not when the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise NotReady(f"mcpay serve exited with {process.returncode} before it was ready:\n{log()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise NotReady(f"mcpay serve was not ready after {timeout} s:\n{log()}")


def stop(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM (a clean shutdown), then SIGKILL if it takes longer than `timeout`."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running(
    command: Sequence[str],
    env: Mapping[str, str],
    url: str,
    log: Path,
    timeout: float = START_TIMEOUT,
    stop_timeout: float = STOP_TIMEOUT,
) -> Iterator[subprocess.Popen[bytes]]:
    """`command` (a server of mcpay on `url`) with its output appended to `log`: ready when the block starts,
    stopped when it ends (a supervisor is given `stop_timeout` to stop its workers before it is killed)."""
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 - this project's own server, arguments built by the caller
            list(command), env=dict(env), stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_until_ready(url, process, lambda: log_tail(log), timeout)
        yield process
    finally:
        stop(process, stop_timeout)


@contextmanager
def fresh_schema(server_url: str, prefix: str = "test") -> Iterator[str]:
    """A PostgreSQL URL whose tables live in a new schema `<prefix>_<random>`, dropped when the block ends."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{separator}schema={schema}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
