"""The Stripe SDK's and httpx's own log lines pass through the same secret masking as mcpay's."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import stripe._util

from entrypoints.logs import configure_logging, reset_logging
from tests.integration.fake_stripe import API_KEY, Failure, FakeStripe
from tests.integration.stripe_support import stripe_app

pytestmark = pytest.mark.integration

UNCONFIGURED_KEY = "rk_live_RotatedOut0123456789abcdef"  # Stripe echoes a key mcpay was never given
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLWEtdG9rZW4"


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    output = io.StringIO()
    yield output
    reset_logging()


def lines_of(output: io.StringIO, logger: str) -> list[str]:
    records = [json.loads(line) for line in output.getvalue().splitlines()]
    return [str(record["event"]) for record in records if record["logger"] == logger]


def test_the_sdks_log_of_stripes_error_text_masks_every_key_in_it(
    fake: FakeStripe,
    sqlite_url: str,
    logged: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(stripe._util, "STRIPE_LOG", "info")  # the SDK would also print its lines to stderr
    with stripe_app(fake, sqlite_url, log_format="json") as app:
        configure_logging(app.services.settings, logged)
        message = f"Invalid API Key provided: {API_KEY}; the key {UNCONFIGURED_KEY} was revoked"
        fake.fail_next(Failure(401, "invalid_request_error", message))

        answer = app.initiate()
        app.client.get(f"/api/payments?token={TOKEN}", headers=app.auth)  # httpx logs the URL it requested

    printed = capsys.readouterr()
    assert answer.status_code == 502, answer.text
    everything = logged.getvalue() + printed.out + printed.err
    for secret in (API_KEY, UNCONFIGURED_KEY, TOKEN):
        assert secret not in everything
    assert any(
        "error_message='Invalid API Key provided: [secret]; the key [secret] was revoked'" in line
        for line in lines_of(logged, "stripe")
    ), lines_of(logged, "stripe")
    assert any("?token=[secret]" in line for line in lines_of(logged, "httpx")), lines_of(logged, "httpx")
