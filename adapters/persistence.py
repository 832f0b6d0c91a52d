"""Choosing the event store from DATABASE_URL: SQLite (embedded), PostgreSQL, or memory."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteFactory


class NamedTablesSQLiteFactory(SQLiteFactory):
    """SQLite recorders whose tables are named after the application, as on PostgreSQL."""

    def application_recorder(self) -> ApplicationRecorder:
        recorder = SQLiteApplicationRecorder(
            datastore=self.datastore, events_table_name=f"{self.env.name.lower()}_events"
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder


class UnsupportedDatabaseUrl(ValueError):
    pass


def persistence_env(database_url: str) -> dict[str, str]:
    """The eventsourcing settings for a database URL (`memory:` keeps events in this process)."""
    parts = urlsplit(database_url)
    if parts.scheme == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if parts.scheme == "sqlite":
        path = unquote(parts.path.removeprefix("/")) if parts.netloc == "" else unquote(parts.netloc + parts.path)
        if not path:
            raise UnsupportedDatabaseUrl("DATABASE_URL sqlite:/// needs a file path")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": f"{__name__}:NamedTablesSQLiteFactory",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    if parts.scheme in ("postgres", "postgresql"):
        schema = parse_qs(parts.query).get("schema", [""])[0]
        return {
            "POSTGRES_SCHEMA": schema,
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(parts.path.removeprefix("/")) or "postgres",
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_POOL_SIZE": "10",
            "POSTGRES_MAX_OVERFLOW": "10",
        }
    raise UnsupportedDatabaseUrl(f"DATABASE_URL scheme {parts.scheme!r} is not sqlite, postgresql or memory")
