"""In JSON, a record without an exception or a stack is rendered in one step: the same object, key for key and in the
same order, as structlog's processor chain renders it, secrets masked the same (change 15)."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from entrypoints import logs
from entrypoints.settings import Settings

pytestmark = pytest.mark.unit

SECRET = "sk_test_configured_secret_0123456789"


class Opaque:
    def __repr__(self) -> str:
        return "<opaque thing>"


@pytest.fixture
def rendered() -> Iterator[tuple[io.StringIO, Any]]:
    """The lines our handler writes, and its formatter."""
    stream = io.StringIO()
    logs.configure_logging(Settings(log_format="json", stripe_secret_key=SECRET, log_level="DEBUG"), stream)
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logs._OurHandler))
    yield stream, handler.formatter
    logs.reset_logging()


RECORDS: dict[str, tuple[str, int, str, tuple[Any, ...], dict[str, Any]]] = {
    "an access line": (
        "mcpay.access",
        logging.INFO,
        "%s %s %s",
        ("GET", "/api/wallet", 200),
        {"method": "GET", "path": "/api/wallet", "route": "/api/wallet", "status": 200, "duration_ms": 1.5},
    ),
    "a warning with no extras": ("mcpay.writer", logging.WARNING, "a group was %s", ("dropped",), {}),
    "uvicorn's coloured copy": ("mcpay.tests", logging.INFO, "Started", (), {"color_message": "\x1b[1mStarted"}),
    "an extra JSON cannot hold": ("mcpay.http", logging.ERROR, "failed", (), {"thing": Opaque(), "n": None}),
    "a secret in the message and a field": (
        "mcpay.tests",
        logging.DEBUG,
        "key %s",
        (SECRET,),
        {"sent": f"auth {SECRET}"},
    ),
    "a token in a field": ("mcpay.http", logging.INFO, "x", (), {"token": "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"}),
    "the chain's own keys as extras": ("mcpay.tests", logging.INFO, "x", (), {"_record": "r", "_from_structlog": 1}),
    "text beyond ASCII": ("mcpay.http", logging.INFO, "Zahlung %s", ("für Café ✓",), {"note": 'quote " and \\'}),
    "a secret in bytes": ("mcpay.http", logging.INFO, "x", (), {"raw": f"key={SECRET}".encode()}),
    "a number too large for 64 bits, and one that is not a number": (
        "mcpay.http",
        logging.INFO,
        "x",
        (),
        {"big": 2**70, "ratio": float("nan")},
    ),
}


@pytest.mark.parametrize("case", RECORDS)
def test_a_line_in_one_step_is_the_chains_line(rendered: tuple[io.StringIO, Any], case: str) -> None:
    stream, formatter = rendered
    name, level, message, args, extra = RECORDS[case]
    lines = []
    with structlog.contextvars.bound_contextvars(request_id="req-1"):
        for direct in (formatter._direct, None):  # the shortcut, then the chain alone
            formatter._direct = direct
            written = len(stream.getvalue().splitlines())
            logging.getLogger(name).log(level, message, *args, extra=extra)
            assert len(stream.getvalue().splitlines()) == written + 1
            lines.append(stream.getvalue().splitlines()[-1])
    one_step, chain = (json.loads(line) for line in lines)

    assert list(one_step) == list(chain)  # the same keys in the same order
    assert one_step.pop("timestamp").endswith("Z") and chain.pop("timestamp").endswith("Z")
    assert one_step == chain
    assert SECRET not in lines[0] and "eyJzdWIiOi" not in lines[0]
    assert one_step["request_id"] == "req-1"


def test_a_level_named_as_structlog_renames_it_is_renamed_the_same(
    rendered: tuple[io.StringIO, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, formatter = rendered
    monkeypatch.setitem(logging._levelToName, 35, "WARN")
    monkeypatch.setitem(logging._levelToName, 45, "EXCEPTION")
    for level, said in ((35, "warning"), (45, "error")):
        record = logging.getLogger("mcpay.tests").makeRecord("mcpay.tests", level, "f", 1, "hello", (), None)
        one_step = json.loads(formatter.format(record))
        formatter._direct, direct = None, formatter._direct
        chain = json.loads(formatter.format(record))
        formatter._direct = direct
        assert one_step["level"] == chain["level"] == said


def test_of_two_overlapping_secrets_the_longer_is_masked_whole(rendered: tuple[io.StringIO, Any]) -> None:
    renderer = logs.MaskedRenderer(lambda logger, name, event: event["event"], ["abcdefghij", "ijklmnopqrstuv"])

    assert renderer(None, "info", {"event": "xx abcdefghijklmnopqrstuv yy"}) == "xx abcdefgh[secret] yy"


def test_a_record_with_an_exception_still_renders_it(rendered: tuple[io.StringIO, Any]) -> None:
    stream, _ = rendered
    try:
        raise ValueError(f"went wrong with {SECRET}")
    except ValueError:
        logging.getLogger("mcpay.http").exception("it failed")

    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["event"] == "it failed" and line["level"] == "error"
    assert "ValueError: went wrong with [secret]" in line["exception"]


def test_a_record_another_formatter_already_saw_is_rendered_the_same(rendered: tuple[io.StringIO, Any]) -> None:
    """Another handler's formatter leaves `message` (and `asctime`) on the record: neither is a copy in our line
    when the chain drops it, and both paths agree."""
    stream, formatter = rendered
    record = logging.getLogger("mcpay.http").makeRecord("mcpay.http", logging.INFO, "f", 1, "seen %s", ("twice",), None)
    logging.Formatter("%(asctime)s %(message)s").format(record)
    one_step = json.loads(formatter.format(record))
    formatter._direct, direct = None, formatter._direct
    chain = json.loads(formatter.format(record))
    formatter._direct = direct

    assert "message" not in one_step
    assert list(one_step) == list(chain)
    assert {**one_step, "timestamp": ""} == {**chain, "timestamp": ""}
    assert stream.getvalue() == ""  # formatted only: nothing logged


def test_a_line_holds_no_secret_however_its_encoder_escapes_it() -> None:
    """A line of plain values is encoded by msgspec, any other by the standard library: each escapes a quote, a
    control character or a DEL its own way, and the secret is masked in every spelling."""
    secret = 'configured-odd"quote\x01control\x7fdel'
    stream = io.StringIO()
    logs.configure_logging(Settings(log_format="json", session_secret=secret), stream)
    try:
        logging.getLogger("mcpay.tests").info("plain", extra={"sent": secret})
        logging.getLogger("mcpay.tests").info("nested", extra={"sent": {"header": secret}})
        logging.getLogger("mcpay.tests").info("beyond ASCII ✓", extra={"sent": secret})
    finally:
        logs.reset_logging()

    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    for line in lines:
        assert "odd" not in line and "control" not in line and "[secret]" in line
        assert json.loads(line)["event"] in ("plain", "nested", "beyond ASCII ✓")


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))  # to 2100
def test_a_lines_time_is_the_records_as_datetime_writes_it(created: float) -> None:
    """structlog's TimeStamper writes `datetime.now(tz=UTC).isoformat()`, `+00:00` as `Z`."""
    expected = datetime.fromtimestamp(created, UTC).isoformat().replace("+00:00", "Z")

    assert logs._stamp(created) == expected


def test_a_lines_time_moves_on_with_the_second() -> None:
    assert logs._stamp(1_700_000_000.25) == "2023-11-14T22:13:20.250000Z"
    assert logs._stamp(1_700_000_001.5) == "2023-11-14T22:13:21.500000Z"
    assert logs._stamp(1_700_000_000.75) == "2023-11-14T22:13:20.750000Z"
    assert logs._stamp(1_700_000_000.9999996) == "2023-11-14T22:13:21Z"  # rounded up into the next second
    assert logs._stamp(1_700_000_002.0) == "2023-11-14T22:13:22Z"


def test_a_secret_in_a_key_is_masked_too(rendered: tuple[io.StringIO, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """A key holding a secret is masked; a bytes key (which msgspec would write as base64, where no mask finds it)
    is refused by the standard library's encoder, as before: that record is not written."""
    stream, _ = rendered
    logging.getLogger("mcpay.tests").info("keyed", extra={f"k {SECRET}": "w"})
    bytes_keyed: dict[Any, Any] = {SECRET.encode(): "v"}
    logging.getLogger("mcpay.tests").info("bytes keyed", extra=bytes_keyed)

    written = stream.getvalue() + capsys.readouterr().err
    assert SECRET not in written and base64.b64encode(SECRET.encode()).decode()[:20] not in written
    assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()] == ["keyed"]


def test_a_secret_that_is_not_utf8_still_lets_logging_start() -> None:
    stream = io.StringIO()
    logs.configure_logging(Settings(log_format="json", clickpesa_api_secret="configured-\ud800-lone-surrogate"), stream)
    try:
        logging.getLogger("mcpay.tests").info("started")
    finally:
        logs.reset_logging()

    assert json.loads(stream.getvalue().splitlines()[-1])["event"] == "started"
