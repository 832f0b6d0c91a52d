"""The read model's batches on PostgreSQL, written one statement a table (arrays, a pipeline), hold exactly the
rows the shared statements write row by row: whatever the text (quotes, backslashes, braces, commas, "NULL"),
missing values, debts and conflicts with rows already there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.persistence import persistence_env
from adapters.read_side import sql
from adapters.read_side.postgres import VALUES, PostgresReadModel
from application.ledger import Ledger
from application.projection import (
    PaymentChange,
    ProjectedBatch,
    ProjectedPayment,
    WalletMovement,
    WalletOpening,
)
from application.views import PaymentView, SpendDetails, WalletEntry
from tests.integration.read_side_support import TABLES
from tests.processes import fresh_schema

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12) | st.sampled_from(
    ['"', "\\", "{a,b}", "NULL", "null", "", " ", 'a\\"b', "é€😀", ","]
)
OPTIONAL = st.none() | TEXT
AMOUNTS = st.decimals(min_value=Decimal("-1000.00"), max_value=Decimal("1000.00"), places=2)
START = datetime(2026, 1, 1, tzinfo=UTC)


class RowByRow(PostgresReadModel):
    """The shared statements, one execution per row: the way every store wrote a batch before."""

    def _write(self, cursor: psycopg.Cursor[Any], batch: ProjectedBatch) -> None:
        for statement, rows in sql.batch_statements(batch, VALUES):
            cursor.executemany(sql.render(statement, self.place.prefix, "pyformat"), [sql.named(r) for r in rows])


@pytest.fixture
def models(postgres_url: str) -> Iterator[tuple[PostgresReadModel, PostgresReadModel, str, str]]:
    with fresh_schema(postgres_url.split("?", 1)[0]) as other_url:
        ledgers = [Ledger(env=persistence_env(url)) for url in (postgres_url, other_url)]
        try:
            yield (
                PostgresReadModel.beside(ledgers[0].recorder, ledgers[0].name),
                RowByRow.beside(ledgers[1].recorder, ledgers[1].name),
                postgres_url,
                other_url,
            )
        finally:
            for ledger in ledgers:
                ledger.close()


@st.composite
def batches(draw: st.DrawFn) -> list[ProjectedBatch]:
    """Two batches over the same few payments and wallets: the second updates rows the first wrote."""
    payments = [uuid4() for _ in range(draw(st.integers(1, 3)))]
    wallets = [(uuid4(), draw(TEXT) + str(n)) for n in range(draw(st.integers(1, 3)))]
    position, made = 0, list[ProjectedBatch]()
    for number in range(2):
        rows: dict[str, list[Any]] = {"payments": [], "changes": [], "wallets": [], "movements": []}
        for payment_id in payments:
            position += 1
            view = PaymentView(
                payment_id=payment_id,
                user_id=draw(TEXT),
                reference=draw(TEXT),
                gateway=draw(st.sampled_from(["stripe", "clickpesa", "bank"])),
                status=draw(st.sampled_from(["pending", "confirmed", "needs_review"])),
                amount=draw(AMOUNTS),
                currency="USD",
                credits=draw(AMOUNTS),
                payment_url=draw(OPTIONAL),
                created_at=START,
                updated_at=START + timedelta(seconds=position),
                instructions=draw(st.dictionaries(TEXT, TEXT, max_size=2)),
                status_reason=draw(OPTIONAL),
                checkout_id=draw(OPTIONAL),
                awaits_admin=draw(st.booleans()),
                paid_object=draw(OPTIONAL),
                needs_attention=draw(st.booleans()),
            )
            rows["payments"].append(ProjectedPayment(view, number + 1, position))
            rows["changes"].append(PaymentChange(payment_id, position, view.status, False, view.needs_attention))
        for wallet_id, user_id in wallets:
            position += 1
            if number == 0:
                rows["wallets"].append(WalletOpening(wallet_id, user_id, START, position))
            spend = draw(st.none() | st.builds(SpendDetails, st.builds(uuid4), TEXT, TEXT, TEXT, TEXT))
            entry = WalletEntry(
                "spend" if spend else "top_up",
                draw(AMOUNTS),
                None if spend else draw(st.sampled_from(payments)),
                START + timedelta(seconds=position),
                draw(AMOUNTS),
                spend,
            )
            rows["movements"].append(WalletMovement(position, wallet_id, entry))
        after = made[-1].end if made else 0
        made.append(
            ProjectedBatch(after, position, *(tuple(rows[k]) for k in ("payments", "wallets", "movements", "changes")))
        )
    return made


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(made=batches())
def test_a_batch_written_a_statement_a_table_holds_the_rows_written_row_by_row(
    models: tuple[PostgresReadModel, PostgresReadModel, str, str], made: list[ProjectedBatch]
) -> None:
    ours, row_by_row, url, other_url = models
    for model in (ours, row_by_row):
        with model.datastore.transaction(commit=True) as cursor:  # a fresh start for each example
            for table in (*sql.TABLES,):
                cursor.execute(f"DELETE FROM {model.place.prefix}{table}")  # noqa: S608 (our tables)
            cursor.execute(f"DELETE FROM {model.place.prefix}read_tracking")  # noqa: S608
        for batch in made:
            model.apply(batch)

    assert rows(url) == rows(other_url)


def rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    schema = persistence_env(url)["POSTGRES_SCHEMA"]
    with psycopg.connect(url.split("?", 1)[0]) as connection:
        return {
            table: sorted(connection.execute(f'SELECT * FROM "{schema}".{table}').fetchall(), key=repr)  # noqa: S608
            for table in (*TABLES, "read_payees")
            if table != "read_tracking"
        }
