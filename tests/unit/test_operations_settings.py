"""Settings of the operations side: log format and level, sign-in rate limits."""

from __future__ import annotations

import pytest

from entrypoints.settings import Settings, SettingsError, load_settings

pytestmark = pytest.mark.unit

LIVE = {"DEMO_PAYMENT": "false", "SESSION_SECRET": "s" * 32}


def test_logs_are_json_in_live_mode_and_readable_in_demo_mode_unless_chosen() -> None:
    assert load_settings({}).effective_log_format == "console"
    assert load_settings(LIVE).effective_log_format == "json"
    assert load_settings({"LOG_FORMAT": "JSON"}).effective_log_format == "json"
    assert load_settings({**LIVE, "LOG_FORMAT": "console"}).effective_log_format == "console"


def test_log_level_and_rate_limits_are_read() -> None:
    settings = load_settings({"LOG_LEVEL": "debug", "AUTH_RATE_LIMIT_PER_KEY": "5", "AUTH_RATE_LIMIT_PER_ADDRESS": "0"})

    assert (settings.log_level, settings.auth_rate_limit_per_key, settings.auth_rate_limit_per_address) == (
        "DEBUG",
        5,
        0,
    )


def test_rate_limit_defaults_leave_room_for_browsers_behind_one_address() -> None:
    assert (Settings().auth_rate_limit_per_key, Settings().auth_rate_limit_per_address) == (30, 120)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOG_FORMAT", "xml"),
        ("LOG_LEVEL", "loud"),
        ("AUTH_RATE_LIMIT_PER_KEY", "-1"),
        ("AUTH_RATE_LIMIT_PER_ADDRESS", "x"),
    ],
)
def test_malformed_operations_settings_are_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})
