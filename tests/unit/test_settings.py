from __future__ import annotations

import hashlib
import re
from decimal import Decimal

import pytest

from entrypoints.settings import Settings, SettingsError, load_settings

pytestmark = pytest.mark.unit

SECRET = "x" * 32
KEY = "ab" * 32


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.database_url == "sqlite:///var/mcpay.sqlite3"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.public_base_url == "http://127.0.0.1:8000"
    assert settings.demo_payment is True
    assert settings.credit_rates == {"USD": Decimal(1), "EUR": Decimal("1.08"), "TZS": Decimal("0.00037")}
    assert settings.stripe_api_base == "https://api.stripe.com"
    assert settings.clickpesa_api_base == "https://api.clickpesa.com/third-parties"
    assert settings.bank_min_amount == Decimal(1000)
    assert settings.bank_confirmations_required == 1
    assert settings.admin_public_keys == frozenset()
    assert settings.stripe_webhook_secrets == ()


def test_blank_values_count_as_unset() -> None:
    assert load_settings(environ={"PORT": "  ", "DEMO_PAYMENT": ""}) == load_settings(environ={})


def test_the_public_base_url_follows_host_and_port_unless_given() -> None:
    assert (
        load_settings(environ={"HOST": "mcpay.internal", "PORT": "9000"}).public_base_url
        == "http://mcpay.internal:9000"
    )
    given = load_settings(environ={"PUBLIC_BASE_URL": "https://pay.example.test/"})
    assert given.public_base_url == "https://pay.example.test"


def test_values_are_parsed() -> None:
    settings = load_settings(
        environ={
            "PORT": "8080",
            "DEMO_PAYMENT": "no",
            "SESSION_SECRET": SECRET,
            "ADMIN_PUBLIC_KEYS": f"{KEY}, {'CD' * 32}",
            "CREDIT_RATES": "USD=1, TZS=0.0004",
            "BANK_MIN_AMOUNT": "250.50",
            "BANK_CONFIRMATIONS_REQUIRED": "2",
        }
    )
    assert settings.port == 8080
    assert settings.demo_payment is False
    assert settings.admin_public_keys == frozenset({KEY, "cd" * 32})
    assert settings.credit_rates == {"USD": Decimal(1), "TZS": Decimal("0.0004")}
    assert settings.bank_min_amount == Decimal("250.50")
    assert settings.bank_confirmations_required == 2


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"PORT": "abc"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"DEMO_PAYMENT": "maybe"}, "DEMO_PAYMENT"),
        ({"CREDIT_RATES": "USD=abc"}, "CREDIT_RATES"),
        ({"CREDIT_RATES": "USD=0"}, "CREDIT_RATES"),
        ({"CREDIT_RATES": "usd=1"}, "CREDIT_RATES"),
        ({"CREDIT_RATES": "EUR=1.08"}, "CREDIT_RATES"),
        ({"CREDIT_RATES": "USD=1,XYZ=2"}, "CREDIT_RATES"),
        ({"ADMIN_PUBLIC_KEYS": "xyz"}, "ADMIN_PUBLIC_KEYS"),
        ({"AUDITOR_PUBLIC_KEYS": f"{KEY},short"}, "AUDITOR_PUBLIC_KEYS"),
        ({"BANK_MIN_AMOUNT": "-1"}, "BANK_MIN_AMOUNT"),
        ({"BANK_MIN_AMOUNT": "lots"}, "BANK_MIN_AMOUNT"),
        ({"BANK_CONFIRMATIONS_REQUIRED": "9"}, "BANK_CONFIRMATIONS_REQUIRED"),
        ({"PUBLIC_BASE_URL": "ftp://x"}, "PUBLIC_BASE_URL"),
        ({"STRIPE_API_BASE": "not a url"}, "STRIPE_API_BASE"),
        ({"LEDGER_SIGNING_KEY": "1234"}, "LEDGER_SIGNING_KEY"),
        ({"SESSION_TTL_SECONDS": "1"}, "SESSION_TTL_SECONDS"),
        ({"DATABASE_URL": "mysql://db"}, "DATABASE_URL"),
        ({"SESSION_SECRET": "too-short"}, "SESSION_SECRET"),
        ({"DEMO_PAYMENT": "false"}, "SESSION_SECRET"),
        ({"WRITER_LINGER_MS": "51"}, "WRITER_LINGER_MS must be at most 50"),
        ({"WRITER_LINGER_MS": "-0.5"}, "WRITER_LINGER_MS"),
        ({"WRITER_LINGER_MS": "NaN"}, "WRITER_LINGER_MS"),
        ({"WRITER_LINGER_MS": "soon"}, "WRITER_LINGER_MS"),
    ],
)
def test_a_malformed_setting_raises_an_error_naming_it(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(environ=environ)


def test_the_writer_lingers_half_a_millisecond_unless_told_otherwise() -> None:
    assert load_settings(environ={}).writer_linger_ms == Decimal("0.5")
    assert load_settings(environ={"WRITER_LINGER_MS": "0"}).writer_linger_ms == Decimal(0)
    assert load_settings(environ={"WRITER_LINGER_MS": "2.25"}).writer_linger_ms == Decimal("2.25")


def test_demo_off_with_a_session_secret_is_accepted() -> None:
    settings = load_settings(environ={"DEMO_PAYMENT": "false", "SESSION_SECRET": SECRET})
    assert settings.demo_payment is False
    assert settings.effective_session_secret == SECRET


def test_stripe_webhook_secrets_split_on_commas_for_rotation() -> None:
    settings = load_settings(environ={"STRIPE_WEBHOOK_SECRET": "whsec_old, whsec_new,,"})
    assert settings.stripe_webhook_secrets == ("whsec_old", "whsec_new")


def test_repr_hides_every_secret() -> None:
    secrets = {
        "SESSION_SECRET": "session-secret-" + "9" * 20,
        "STRIPE_SECRET_KEY": "sk_test_hidden",
        "STRIPE_WEBHOOK_SECRET": "whsec_hidden",
        "CLICKPESA_API_SECRET": "clickpesa-api-hidden",
        "CLICKPESA_WEBHOOK_SECRET": "clickpesa-webhook-hidden",
        "LEDGER_SIGNING_KEY": "ef" * 32,
    }
    settings = load_settings(environ=secrets)
    for text in (repr(settings), str(settings), f"{settings}"):
        for secret in secrets.values():
            assert secret not in text


def test_demo_mode_in_memory_makes_one_random_session_secret_per_process_never_derived_from_settings() -> None:
    one = load_settings(environ={"DATABASE_URL": "memory:"})
    same = load_settings(environ={"DATABASE_URL": "memory:"})
    derived_once = hashlib.sha256(b"mcpay-demo-session:memory:").hexdigest()
    assert one.effective_session_secret == same.effective_session_secret != derived_once
    assert re.fullmatch(r"[0-9a-f]{64}", one.effective_session_secret)
    assert one.demo_secret("stripe-webhook") != one.demo_secret("clickpesa-webhook")


@pytest.mark.parametrize(
    "extra",
    [{}, {"ADMIN_PUBLIC_KEYS": "ad" * 32}, {"AUDITOR_PUBLIC_KEYS": "a0" * 32}],
)
def test_postgresql_without_session_secret_refuses_to_start_naming_it(extra: dict[str, str]) -> None:
    environ = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/mcpay", **extra}
    with pytest.raises(SettingsError, match="SESSION_SECRET must be set on PostgreSQL"):
        load_settings(environ)
    with pytest.raises(SettingsError, match="SESSION_SECRET must be set on PostgreSQL"):
        _ = Settings(database_url=environ["DATABASE_URL"]).effective_session_secret
    assert load_settings({**environ, "SESSION_SECRET": SECRET}).effective_session_secret == SECRET


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
