"""`mcpay serve`: uvicorn on a socket bound here, one process, or N workers under uvicorn's supervisor (ADR 33)."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
from contextlib import suppress
from typing import Any

from entrypoints.settings import Settings, check_workers, load_settings, with_overrides

APP_FACTORY = "entrypoints.http.app:serve_app"
GRACEFUL_SECONDS = 8  # after SIGTERM, in-flight requests get this long; event streams end at once
METRICS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"


def add_command(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="serve the API and the SPA (HOST, PORT, WEB_CONCURRENCY, DATABASE_URL, ...)"
    )
    serve.add_argument("--host", help="the address to listen on (default HOST, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="the port to listen on (default PORT, else 8000)")
    serve.add_argument(
        "--workers", type=int, help="worker processes sharing the port (default WEB_CONCURRENCY, else 1; PostgreSQL)"
    )
    serve.set_defaults(run=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    with_overrides({"HOST": args.host, "PORT": args.port, "WEB_CONCURRENCY": args.workers})
    settings = load_settings()
    check_workers(settings)
    try:
        listening = listen(settings.host, settings.port)
    except OSError as error:
        print(f"mcpay: cannot listen on {settings.host}:{settings.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    with listening, suppress(KeyboardInterrupt):  # Ctrl-C: the server drained and stopped, as asked
        _run(settings, listening)
    return 0


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is started, so that a busy port is one clear error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
    except OSError:
        listening.close()
        raise
    listening.set_inheritable(True)  # the workers accept on it
    return listening


def _run(settings: Settings, listening: socket.socket) -> None:
    from entrypoints.logs import configure_logging

    configure_logging(settings)
    if settings.workers == 1:
        _serve_here(settings, listening)
    else:
        _serve_workers(settings, listening)


def _serve_here(settings: Settings, listening: socket.socket) -> None:
    import uvicorn

    from entrypoints.http.app import serve_app

    config = uvicorn.Config(serve_app(settings), **_uvicorn_options(settings))
    _announce(settings)
    uvicorn.Server(config).run(sockets=[listening])


def _serve_workers(settings: Settings, listening: socket.socket) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from entrypoints.bootstrap import bootstrap

    bootstrap(settings).close()  # what would stop every worker (the store, the read model's schema) stops here, once
    metrics_directory = None if settings.metrics_directory else _shared_metrics_directory()
    # The workers accept on one socket; libuv (uvloop) accepts every pending connection at each wake, so one worker
    # took all of a client's kept-alive connections and the others idled. One at a time, they share them (ADR 55).
    os.environ.setdefault("UV_TCP_SINGLE_ACCEPT", "1")
    try:
        config = uvicorn.Config(APP_FACTORY, factory=True, workers=settings.workers, **_uvicorn_options(settings))
        _announce(settings)
        Multiprocess(config, sockets=[listening]).run()
    finally:
        if metrics_directory is not None:
            shutil.rmtree(metrics_directory, ignore_errors=True)


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    # Logging is ours (configure_logging): uvicorn's lines go through it, its access log is replaced by ours.
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": GRACEFUL_SECONDS,
    }


def _shared_metrics_directory() -> str:
    """Workers count into files of one directory, so that /metrics answers for them all (prometheus-client's
    multiprocess mode): a fresh one, removed at exit."""
    directory = tempfile.mkdtemp(prefix="mcpay-metrics-")
    with_overrides({METRICS_DIRECTORY: directory})
    return directory


def _announce(settings: Settings) -> None:
    mode = "demo" if settings.demo_payment else "live"
    workers = f", {settings.workers} workers" if settings.workers > 1 else ""
    store = _store_name(settings.database_url)
    print(f"mcpay: serving on {settings.public_base_url} ({mode} mode, {store}{workers})", flush=True)


def _store_name(database_url: str) -> str:
    return database_url.split("://", 1)[0] if "@" in database_url else database_url
