"""The read model's schema version, recorded beside its tables: an older one is rebuilt, a newer one refused."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any

from adapters.read_side import sql

logger = logging.getLogger("mcpay.read_side")

VERSION_TABLE = "read_schema"
_TEMPLATE = sql.ddl("", {name: name for name in ("uuid", "numeric", "boolean", "timestamp")})
CURRENT_DIGEST = hashlib.sha256("\n".join(_TEMPLATE).encode()).hexdigest()[:16]  # the DDL, whatever the store
CREATE = f"CREATE TABLE IF NOT EXISTS {{s}}{VERSION_TABLE} (version integer NOT NULL, digest text NOT NULL)"
SELECT = f"SELECT version, digest FROM {{s}}{VERSION_TABLE}"
DELETE = f"DELETE FROM {{s}}{VERSION_TABLE}"
INSERT = f"INSERT INTO {{s}}{VERSION_TABLE} (version, digest) VALUES ($1, $2)"
CURRENT = (sql.SCHEMA_VERSION, CURRENT_DIGEST)


class ReadSchemaTooNew(RuntimeError):
    """The read model was made by a newer build: this one would misread its columns."""


class SchemaStep(Enum):
    CREATE = "create"  # no read model yet
    KEEP = "keep"  # this build's own schema
    REBUILD = "rebuild"  # an older schema (or one from before versions were recorded): drop it, project again


@dataclass(frozen=True)
class RecordedSchema:
    version: int
    digest: str


def step(recorded: RecordedSchema | None, tables_exist: bool) -> SchemaStep:
    """What start-up does with the read model it finds."""
    if recorded is None:
        return SchemaStep.REBUILD if tables_exist else SchemaStep.CREATE
    if recorded.version > sql.SCHEMA_VERSION:
        raise ReadSchemaTooNew(
            f"the read model's tables are schema version {recorded.version}, made by a newer mcpay than this one "
            f"(version {sql.SCHEMA_VERSION}): run that build, or drop the read_* tables to project them again"
        )
    if recorded.version < sql.SCHEMA_VERSION or recorded.digest != CURRENT_DIGEST:
        return SchemaStep.REBUILD
    return SchemaStep.KEEP


def announce(recorded: RecordedSchema | None) -> None:
    found = "no recorded version" if recorded is None else f"version {recorded.version}"
    logger.warning(
        "the read model's schema (%s) is older than this build's (version %s): dropped, to be projected again",
        found,
        sql.SCHEMA_VERSION,
    )


def prepare(cursor: Any, prefix: str, style: str, tables_exist: bool, tracking_table: str) -> None:
    """Before the tables are created: an older read model is dropped (rows and position), a newer one refused."""
    cursor.execute(sql.render(CREATE, prefix, style))
    cursor.execute(sql.render(SELECT, prefix, style))
    row = cursor.fetchone()
    recorded = None if row is None else RecordedSchema(int(row["version"]), str(row["digest"]))
    if step(recorded, tables_exist) is SchemaStep.REBUILD:
        announce(recorded)
        for table in (*sql.TABLES, tracking_table):
            cursor.execute(f"DROP TABLE IF EXISTS {prefix}{table}")


def record(cursor: Any, prefix: str, style: str) -> None:
    """After the tables are created: they are this build's version."""
    cursor.execute(sql.render(DELETE, prefix, style))
    cursor.execute(sql.render(INSERT, prefix, style), sql.named(CURRENT))
