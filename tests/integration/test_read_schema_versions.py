"""The read model's schema version: recorded with its tables; an older one is rebuilt at start, a newer refused."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.read_side import sql
from adapters.read_side.postgres import PostgresReadModel
from adapters.read_side.schema_version import CURRENT_DIGEST, ReadSchemaTooNew
from application.payments import TopUpOrder
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.cli import main
from entrypoints.settings import Settings
from tests.integration.support import SESSION_SECRET

pytestmark = pytest.mark.integration

USER = "b" * 64


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def settings_for(database_url: str) -> Settings:
    return Settings(database_url=database_url, session_secret=SESSION_SECRET, reconcile_interval_seconds=0)


def execute(services: Services, statement: str) -> list[Any]:
    """A statement on the read model's own tables (`{s}` before each table name), its rows."""
    store: Any = services.read_side.projector.store
    prefix = store.place.prefix if isinstance(store, PostgresReadModel) else ""
    with store.datastore.transaction(commit=True) as cursor:
        cursor.execute(statement.format(s=prefix))
        return list(cursor.fetchall()) if statement.startswith("SELECT") else []


def with_one_projected_payment(database_url: str) -> None:
    services = bootstrap(settings_for(database_url))
    try:
        services.payments.initiate(USER, TopUpOrder("25.00", "USD", "stripe"))
        services.read_side.projector.run_once()
    finally:
        services.close()


def payment_users(services: Services) -> list[str]:
    return [row["user_id"] for row in execute(services, "SELECT user_id FROM {s}read_payments")]


def test_a_new_read_model_records_this_builds_version(store_url: str) -> None:
    services = bootstrap(settings_for(store_url))
    try:
        rows = execute(services, "SELECT version, digest FROM {s}read_schema")
    finally:
        services.close()

    assert [(row["version"], row["digest"]) for row in rows] == [(sql.SCHEMA_VERSION, CURRENT_DIGEST)]


def test_the_same_version_keeps_its_rows(store_url: str) -> None:
    with_one_projected_payment(store_url)

    services = bootstrap(settings_for(store_url))
    try:
        assert payment_users(services) == [USER]
        assert services.read_side.projector.store.position() > 0
    finally:
        services.close()


@pytest.mark.parametrize(
    "make_it_older",
    [
        "UPDATE {s}read_schema SET version = version - 1",
        "UPDATE {s}read_schema SET digest = 'another-ddl'",  # the tables changed without a new version number
        "DROP TABLE {s}read_schema",  # a read model from before versions were recorded
    ],
)
def test_an_older_read_model_is_dropped_and_projected_again(store_url: str, make_it_older: str) -> None:
    with_one_projected_payment(store_url)
    services = bootstrap(settings_for(store_url))
    execute(services, "UPDATE {s}read_payments SET user_id = 'stale'")
    execute(services, make_it_older)
    services.close()

    services = bootstrap(settings_for(store_url))
    try:
        assert payment_users(services) == []
        assert services.read_side.projector.store.position() == 0
        services.read_side.projector.run_once()
        assert payment_users(services) == [USER]
        rows = execute(services, "SELECT version, digest FROM {s}read_schema")
        assert [(row["version"], row["digest"]) for row in rows] == [(sql.SCHEMA_VERSION, CURRENT_DIGEST)]
    finally:
        services.close()


def test_a_newer_read_model_is_refused_at_start(store_url: str) -> None:
    with_one_projected_payment(store_url)
    services = bootstrap(settings_for(store_url))
    execute(services, "UPDATE {s}read_schema SET version = version + 1")
    services.close()

    with pytest.raises(ReadSchemaTooNew, match="newer mcpay"):
        bootstrap(settings_for(store_url))


def test_the_command_line_names_a_newer_read_model_in_one_line(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with_one_projected_payment(sqlite_url)
    services = bootstrap(settings_for(sqlite_url))
    execute(services, "UPDATE {s}read_schema SET version = version + 1")
    services.close()
    monkeypatch.setenv("DATABASE_URL", sqlite_url)

    code = main(["projections", "rebuild"])

    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "schema version" in err[0]
