"""The settings `mcpay serve` adds: workers, CORS origins, the readiness lag threshold."""

from __future__ import annotations

import pytest

from entrypoints.settings import SettingsError, check_workers, load_settings

pytestmark = pytest.mark.unit

POSTGRES = "postgresql://mcpay@db.internal:5432/mcpay"


def test_serving_defaults() -> None:
    settings = load_settings({})

    assert settings.workers == 1
    assert settings.cors_origins == ()
    assert settings.ready_max_lag_events == 1000


@pytest.mark.parametrize("text", ["0", "65", "two"])
def test_web_concurrency_must_be_a_sensible_count(text: str) -> None:
    with pytest.raises(SettingsError, match="WEB_CONCURRENCY"):
        load_settings({"WEB_CONCURRENCY": text})


@pytest.mark.parametrize("database_url", ["sqlite:///var/mcpay.sqlite3", "memory:"])
def test_several_workers_are_refused_on_a_store_one_process_owns(database_url: str) -> None:
    settings = load_settings({"WEB_CONCURRENCY": "2", "DATABASE_URL": database_url})

    with pytest.raises(SettingsError, match="need PostgreSQL") as refused:
        check_workers(settings)
    assert ("SQLite" if database_url.startswith("sqlite") else "memory:") in str(refused.value)


def test_several_workers_on_postgresql_are_fine() -> None:
    check_workers(load_settings({"WEB_CONCURRENCY": "2", "DATABASE_URL": POSTGRES, "SESSION_SECRET": "s" * 32}))


def test_cors_origins_are_listed_origins() -> None:
    settings = load_settings({"CORS_ORIGINS": "https://spa.example.test, http://localhost:5173/"})

    assert settings.cors_origins == ("https://spa.example.test", "http://localhost:5173")


@pytest.mark.parametrize("text", ["spa.example.test", "https://spa.example.test/app", "ftp://x.test"])
def test_a_cors_origin_is_scheme_host_and_port_only(text: str) -> None:
    with pytest.raises(SettingsError, match="CORS_ORIGINS"):
        load_settings({"CORS_ORIGINS": text})
