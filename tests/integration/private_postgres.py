"""A throwaway PostgreSQL cluster of this test's own, which it may stop and start at will.

The shared server (TEST_DATABASE_URL) is never restarted: other tests and people use it. PostgreSQL refuses
to run as root, so as root the cluster belongs to the `postgres` system user (through runuser or su).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"), *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
SERVICE_USER = "postgres"


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    return next((d for d in BIN_DIRS if (d / "pg_ctl").exists() and (d / "initdb").exists()), None)


def _as_service_user() -> tuple[list[str], str | None]:
    """The prefix that runs a command as a user PostgreSQL accepts, or a reason why there is none."""
    if os.geteuid() != 0:
        return [], None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return [], f"running as root and there is no {SERVICE_USER!r} user to run PostgreSQL as"
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", SERVICE_USER, "--"], None
    su = shutil.which("su")
    if su:
        return [su, SERVICE_USER, "-s", "/bin/sh", "-c", '"$0" "$@"', "--"], None  # one shell command
    return [], "running as root with neither runuser nor su to run PostgreSQL as another user"


def unavailable_reason() -> str | None:
    """Why no private cluster can be made here (None: it can)."""
    if _postgres_bin() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl) found"
    return _as_service_user()[1]


@dataclass(frozen=True)
class PrivatePostgres:
    directory: Path
    port: int
    bin_dir: Path
    prefix: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"postgresql://{SERVICE_USER}@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def start(self) -> None:
        options = f"-k {self.directory} -c listen_addresses=127.0.0.1 -p {self.port} -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-o", options, "-w", "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def log(self) -> str:
        return (self.directory / "server.log").read_text(errors="replace")

    def _run(self, program: str, *args: str) -> None:
        command = [*self.prefix, str(self.bin_dir / program), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60)  # noqa: S603 - fixed programs


@contextmanager
def private_postgres(port: int) -> Iterator[PrivatePostgres]:
    """initdb into a new temporary directory, start on `port`; stopped and removed afterwards."""
    bin_dir = _postgres_bin()
    prefix, reason = _as_service_user()
    if bin_dir is None or reason is not None:
        raise RuntimeError(unavailable_reason())
    directory = Path(tempfile.mkdtemp(prefix="mcpay-pg-"))
    try:
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVICE_USER)
            os.chown(directory, user.pw_uid, user.pw_gid)
        cluster = PrivatePostgres(directory, port, bin_dir, tuple(prefix))
        cluster._run("initdb", "-D", str(cluster.data), "-A", "trust", "-U", SERVICE_USER, "--no-sync", "-E", "UTF8")
        cluster.start()
        try:
            yield cluster
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
                cluster.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
