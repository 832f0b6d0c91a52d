"""Settings for half-made checkouts: when an open counts as abandoned, how long a replay waits for one."""

from __future__ import annotations

import pytest

from entrypoints.settings import Settings, SettingsError, load_settings

pytestmark = pytest.mark.unit


def test_the_defaults_outlast_any_gateways_open_and_keep_a_replay_short() -> None:
    assert (Settings().checkout_abandoned_after_seconds, Settings().checkout_replay_wait_seconds) == (120, 5)


def test_both_are_read() -> None:
    settings = load_settings({"CHECKOUT_ABANDONED_AFTER_SECONDS": "300", "CHECKOUT_REPLAY_WAIT_SECONDS": "0"})
    assert (settings.checkout_abandoned_after_seconds, settings.checkout_replay_wait_seconds) == (300, 0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHECKOUT_ABANDONED_AFTER_SECONDS", "0"),
        ("CHECKOUT_ABANDONED_AFTER_SECONDS", "soon"),
        ("CHECKOUT_REPLAY_WAIT_SECONDS", "-1"),
        ("CHECKOUT_REPLAY_WAIT_SECONDS", "61"),
    ],
)
def test_malformed_values_are_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})
