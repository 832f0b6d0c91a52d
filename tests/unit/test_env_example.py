"""`.env.example` lists every setting the service reads, each with the default the code has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from entrypoints import settings as settings_module
from entrypoints.settings import load_settings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).parents[2]
QUOTED_NAME = re.compile(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|PORT|HOST)"')


def example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {name: value for name, value in pairs}


def test_every_setting_the_code_reads_is_listed() -> None:
    read = set(QUOTED_NAME.findall(Path(settings_module.__file__).read_text()))

    assert read - set(example()) == set()
    assert {"DATABASE_URL", "WEB_CONCURRENCY", "STRIPE_WEBHOOK_SECRET", "CORS_ORIGINS"} <= read


def test_the_listed_values_are_the_defaults() -> None:
    listed = {name: value for name, value in example().items() if name != "FORWARDED_ALLOW_IPS"}

    assert load_settings(listed) == load_settings({})
