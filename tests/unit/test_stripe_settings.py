"""Stripe's settings: offered for real only when complete, malformed keys stop start-up without being shown."""

from __future__ import annotations

import pytest

from entrypoints.bootstrap import configured_gateways
from entrypoints.settings import SettingsError, load_settings

pytestmark = pytest.mark.unit

LIVE = {"DEMO_PAYMENT": "false", "SESSION_SECRET": "s" * 40}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STRIPE_SECRET_KEY", "pk_test_publishable123"),
        ("STRIPE_SECRET_KEY", "sk_test_with spaces"),
        ("STRIPE_SECRET_KEY", "sk_staging_abc123"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_good,not-a-secret-value"),
    ],
)
def test_a_malformed_stripe_key_stops_start_up_naming_the_setting_not_the_value(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name) as raised:
        load_settings(environ={**LIVE, name: value})
    assert value not in str(raised.value)
    assert "publishable123" not in str(raised.value)


@pytest.mark.parametrize("key", ["sk_test_abc123", "sk_live_abc123", "rk_live_abc123"])
def test_secret_and_restricted_keys_are_accepted(key: str) -> None:
    assert load_settings(environ={**LIVE, "STRIPE_SECRET_KEY": key}).stripe_secret_key == key


def test_stripe_is_offered_for_real_only_with_both_secrets() -> None:
    key_only = load_settings(environ={**LIVE, "STRIPE_SECRET_KEY": "sk_test_abc123"})
    both = load_settings(environ={**LIVE, "STRIPE_SECRET_KEY": "sk_test_abc123", "STRIPE_WEBHOOK_SECRET": "whsec_1"})
    assert "stripe" not in configured_gateways(key_only)
    assert configured_gateways(both)["stripe"].offer.demo is False
