"""Structured logs: one JSON object a line in production, readable lines in development, secrets masked in both.

Everything logs through the standard library (`logging.getLogger(...)`), the application layer included; structlog
renders the records and adds the context bound to the current request (its `request_id`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import IO, Any

import msgspec
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from adapters.identity import TOKEN_SHAPE
from adapters.stripe.gateway import KEY_SHAPE, log_through_logging_only
from entrypoints.settings import Settings

MASK = "[secret]"
SHORTEST_SECRET = 8  # shorter values would mask ordinary words; every real secret is longer
# Masked wherever they appear, configured or not: a gateway may echo another key (a rotated one, a typo) and
# a token may sit in a URL. Each library's logger passes through this too (`configure_logging`).
# Each with the texts any match of it contains: a line with none of them is not searched (a search costs
# microseconds a line, a look for the texts a tenth of that).
SECRET_SHAPES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (KEY_SHAPE, ("sk_", "rk_", "pk_", "whsec_")),
    (TOKEN_SHAPE, ("eyJ",)),
)
# Libraries' loggers that come with handlers of their own, or may: their records go to the root handler instead.
LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "stripe", "httpx", "httpcore", "litestar")
# The one route that takes a session token in its URL (EventSource cannot send headers): `?token=...`.
QUERY_TOKEN = re.compile(r"([?&]token=)[^&\s]+")


class _OurHandler(logging.StreamHandler[IO[str]]):
    """Marks the handler this module installed, so that configuring again replaces it and nothing else."""


class MaskedRenderer:
    """Renders with `renderer`, then replaces every configured secret in the text: whatever put a secret into a
    log line (a message, a field, an exception's text), it does not leave the process."""

    def __init__(
        self,
        renderer: Processor,
        secrets: Iterable[str],
        shapes: Iterable[tuple[re.Pattern[str], tuple[str, ...]]] = SECRET_SHAPES,
    ) -> None:
        self._renderer = renderer
        kept = [secret for secret in secrets if len(secret) >= SHORTEST_SECRET]
        spelled = {form for secret in kept for form in (secret, *_escaped(secret))}
        self._secrets = sorted(spelled, key=len, reverse=True)  # as written, and as JSON or repr() escape it
        self._shapes = tuple(shapes)

    def __call__(self, logger: WrappedLogger, method_name: str, event_dict: EventDict) -> str:
        text = str(self._renderer(logger, method_name, event_dict))
        for secret in self._secrets:  # the longest first, everywhere: where two overlap, the longer goes whole
            if secret in text:
                text = text.replace(secret, MASK)
        for shape, hints in self._shapes:
            for hint in hints:  # `in` for each hint: under half of one search of the line for them all (change 19)
                if hint in text:
                    text = shape.sub(MASK, text)
                    break
        return text


def _escaped(secret: str) -> tuple[str, ...]:
    """A secret as each JSON encoder of a line (`_LineEncoder`) and `repr()` escape it."""
    try:
        by_msgspec = msgspec.json.encode(secret).decode()[1:-1]
    except UnicodeEncodeError:  # not UTF-8 (a lone surrogate): msgspec never writes a line holding it
        by_msgspec = secret
    return (json.dumps(secret)[1:-1], by_msgspec, repr(secret)[1:-1])


def secret_values(settings: Settings) -> list[str]:
    """Every configured secret, and those derived from them in demo mode."""
    values = [
        settings.session_secret,
        settings.effective_session_secret,
        settings.stripe_secret_key,
        *settings.stripe_webhook_secrets,
        settings.clickpesa_api_secret,
        settings.clickpesa_webhook_secret,
        settings.ledger_signing_key,
        settings.effective_ledger_signing_key,
    ]
    if settings.demo_payment:
        values += [settings.demo_secret("stripe-webhook"), settings.demo_secret("clickpesa-webhook")]
    return [value for value in values if value]


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> None:
    """Route every log record (ours, Litestar's, uvicorn's, the Stripe SDK's, httpx's) through one structlog
    formatter on stderr, where every secret is masked."""
    as_json = settings.effective_log_format == "json"
    common: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if as_json:
        common.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer(serializer=_LineEncoder())
    else:  # plain tracebacks: rich's would show local variables, which may hold secrets
        renderer = structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    masked = MaskedRenderer(renderer, secret_values(settings))
    formatter = _Formatter(
        foreign_pre_chain=[*common, structlog.stdlib.ExtraAdder(), _drop_copies],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, masked],
        direct=masked if as_json else None,
    )
    handler = _OurHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # No line shows the thread's or process's name: not looked up for every record (the access line's costliest part).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # Nor the file and line that logged it: the caller's frame is not searched for (the logging HOWTO's
    # "Optimization"; structlog's search costs 4-5 µs a record). Tracebacks keep theirs.
    logging._srcfile = None
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).handlers.clear()  # their own lines go through the root handler too
        logging.getLogger(name).propagate = True
    log_through_logging_only()
    # uvicorn logs access lines while its logger has handlers: mcpay.access replaces them, in every worker
    logging.getLogger("uvicorn.access").propagate = False
    structlog.configure(
        processors=[*common, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """structlog's formatter for records logged through the standard library, with one shortcut: in JSON, a record
    without an exception or a stack (every access line) is rendered in one step, as the same object, key for key and
    in the same order, as the chain makes (`foreign_pre_chain` above, then `direct`, which masks). The chain copies
    the record, runs seven processors and formats the result again: nearly a third of an access line's cost, and
    the access line was a third of a wallet read's (docs/benchmarks.md, change 15)."""

    def __init__(self, *args: Any, direct: MaskedRenderer | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._direct = direct

    def format(self, record: logging.LogRecord) -> str:
        direct = self._direct
        if direct is None or record.exc_info or record.stack_info or hasattr(record, "_logger"):
            return super().format(record)  # an exception or a stack to render, or structlog's own record
        event: EventDict = {"event": record.getMessage()}
        structlog.contextvars.merge_contextvars(None, "", event)
        event["logger"] = record.name
        level = record.levelname.lower()
        event["level"] = LEVEL_NAMES.get(level, level)  # structlog's add_log_level
        event["timestamp"] = _stamp(record.created)  # as structlog's TimeStamper writes it
        for key, value in record.__dict__.items():  # structlog's ExtraAdder
            if key not in STANDARD_RECORD_KEYS:
                event[key] = value
        event.pop("_record", None)  # the chain's own keys, which it removes whatever put them there
        event.pop("_from_structlog", None)
        return direct(None, event["level"], _drop_copies(None, "", event))


class _LineEncoder:
    """`json.dumps` for structlog's JSONRenderer, which always passes its fallback for other types (`default`).

    A line whose values are all strings, numbers, booleans or null (every access line) is encoded by msgspec in a
    fifth of the standard library's time (ADR 67): no space after `,` and `:`, `null` for a float that is not a
    number. Its text is kept if it is ASCII, as `json.dumps` writes every line. Any other line goes to the standard
    library, with an encoder made once per fallback (given any option, `json.dumps` makes a new one for every line),
    so that whatever else a value is (bytes, a dataclass, an object of its own) is written through the fallback as
    `repr()` text, where the masking finds any secret in it (msgspec would write bytes as base64)."""

    def __init__(self) -> None:
        self._encoders: dict[Any, json.JSONEncoder] = {}
        self._plain = msgspec.json.Encoder()

    def __call__(self, obj: Any, default: Any = None, **options: Any) -> str:
        if options:
            return json.dumps(obj, default=default, **options)
        if type(obj) is dict and STRINGS.issuperset(map(type, obj)) and PLAIN_TYPES.issuperset(map(type, obj.values())):
            try:
                text = self._plain.encode(obj).decode()
            except (TypeError, ValueError, UnicodeEncodeError):  # text that is not UTF-8 (a lone surrogate)
                pass
            else:
                if text.isascii():
                    return text
        encoder = self._encoders.get(default)
        if encoder is None:
            encoder = self._encoders[default] = json.JSONEncoder(default=default)
        return encoder.encode(obj)


STRINGS = frozenset({str})  # the keys msgspec may write (bytes keys it writes as base64, which no mask matches)
PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})
_second_stamped: tuple[int, str] = (-1, "")  # a second since the epoch, and its date and time written out


def _stamp(created: float) -> str:
    """`created` (seconds since the epoch) in ISO 8601, UTC, as structlog's TimeStamper writes the time: to the
    microsecond, rounded as `datetime` rounds it, with no fraction on the second itself (`2026-03-01T12:00:00Z`,
    `2026-03-01T12:00:00.123456Z`). The date and time to the second are written once a second."""
    global _second_stamped
    second = int(created)
    microseconds = round((created - second) * 1_000_000)
    if microseconds == 1_000_000:
        second, microseconds = second + 1, 0
    stamped_second, prefix = _second_stamped  # one tuple, read at once: threads may replace it meanwhile
    if second != stamped_second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second_stamped = (second, prefix)
    return f"{prefix}.{microseconds:06d}Z" if microseconds else f"{prefix}Z"


LEVEL_NAMES = {"warn": "warning", "exception": "error"}  # as structlog names a level after the method that logged it
# What every LogRecord holds: anything else on a record came through `extra` (structlog's ExtraAdder reads the same).
STANDARD_RECORD_KEYS = frozenset(logging.LogRecord("name", 0, "pathname", 0, "msg", (), None).__dict__)


def _drop_copies(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Copies of `event`: uvicorn's with terminal colours, and the one another handler's formatter left."""
    event_dict.pop("color_message", None)
    event_dict.pop("message", None)
    return event_dict


class _RedactQueryTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                QUERY_TOKEN.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def keep_query_tokens_out_of_access_logs() -> None:
    """uvicorn logs each request's path with its query string: a `?token=` must not land in the log, whether or
    not `configure_logging` ran (an app built by `create_app` in a server of the operator's choosing)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, _RedactQueryTokens) for existing in access.filters):
        access.addFilter(_RedactQueryTokens())


def reset_logging() -> None:
    """Undo `configure_logging` (tests)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    structlog.reset_defaults()
