"""The read model's statements on PostgreSQL, each written for a whole batch: one statement a table, its rows as
arrays (`unnest`), all of a batch's statements sent together (a pipeline).

The shared statements of `sql.py` take one row each; run row by row (`executemany`) a batch cost the projector a
statement execution per row in PostgreSQL and a Python dump of every parameter in psycopg. The inserts are the
same statements with `VALUES ($1, ...)` read from the arrays instead; the balance update joins them. Same tables,
same rows, same conflict rules (a batch never holds one key twice: `ProjectedBatch` keeps each payment's,
wallet's and payee's last row).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from adapters.pg_arrays import any_array
from adapters.read_side import sql

# The PostgreSQL type of each parameter of the shared statements, in order.
ROW_TYPES: dict[str, tuple[str, ...]] = {
    sql.UPSERT_PAYMENT: tuple(
        [
            "uuid",
            "text",
            "text",
            "text",
            "text",
            "numeric",
            "text",
            "numeric",
            "text",
            "text",
            "text",
            "text",
            "boolean",
            "text",
            "text",
            "text",
            "boolean",
            "timestamptz",
            "timestamptz",
            "bigint",
            "bigint",
        ]
    ),
    sql.INSERT_CHANGE: tuple(["uuid", "bigint", "text", "boolean", "boolean"]),
    sql.INSERT_WALLET: tuple(["uuid", "text", "numeric", "timestamptz", "bigint"]),
    sql.INSERT_MOVEMENT: tuple(
        ["bigint", "uuid", "text", "numeric", "uuid", "timestamptz", "numeric", "uuid", "text", "text", "text", "text"]
    ),
    sql.UPDATE_BALANCE: tuple(["numeric", "timestamptz", "bigint", "uuid", "boolean", "boolean", "timestamptz"]),
    sql.ADD_TO_PAYEE: tuple(["text", "bigint", "bigint"]),
}
# u.cN is the shared statement's $N.
UPDATE_BALANCES = """
UPDATE {s}read_wallets AS w SET balance = u.c1, updated_at = u.c2, position = u.c3,
    debt_since = CASE WHEN u.c5 THEN (CASE WHEN u.c6 THEN u.c7 ELSE COALESCE(w.debt_since, u.c7) END) ELSE NULL END
FROM unnest({arrays}) AS u(c1, c2, c3, c4, c5, c6, c7)
WHERE w.wallet_id = u.c4 AND w.position < u.c3
"""
VALUES = re.compile(r"VALUES \(\$1(?:, \$\d+)*\)")


@cache
def statement_for_rows(statement: str, schema_prefix: str) -> str:
    """The shared statement `statement` for all its rows at once, its parameters one array per column."""
    arrays = ", ".join(f"%s::{kind}[]" for kind in ROW_TYPES[statement])
    if statement == sql.UPDATE_BALANCE:
        return UPDATE_BALANCES.format(s=schema_prefix, arrays=arrays)
    text, replaced = VALUES.subn(f"SELECT * FROM unnest({arrays})", statement.format(s=schema_prefix))
    if replaced != 1:
        raise ValueError(f"not an INSERT ... VALUES of one row: {statement}")
    return text


def columns(rows: Sequence[tuple[Any, ...]]) -> list[str]:
    """The rows' parameters, one array literal per column."""
    return [any_array(column) for column in zip(*rows, strict=True)]
