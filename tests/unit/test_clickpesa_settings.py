"""CLICKPESA_REQUEST_CHECKSUM: on unless said otherwise, and a malformed value stops start-up."""

from __future__ import annotations

import pytest

from entrypoints.settings import SettingsError, load_settings

pytestmark = pytest.mark.unit


def test_request_checksums_are_on_by_default() -> None:
    assert load_settings({}).clickpesa_request_checksum is True


def test_request_checksums_can_be_turned_off() -> None:
    assert load_settings({"CLICKPESA_REQUEST_CHECKSUM": "false"}).clickpesa_request_checksum is False


def test_a_malformed_value_is_named() -> None:
    with pytest.raises(SettingsError, match="CLICKPESA_REQUEST_CHECKSUM"):
        load_settings({"CLICKPESA_REQUEST_CHECKSUM": "sometimes"})
