"""Times in query parameters: RFC 3339 with the offset, as the schema's `date-time` says."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar.params import Parameter

from application.audit.chain import parse_rfc3339
from application.errors import Invalid


def query_time(name: str, text: str | None) -> datetime | None:
    """The time a parameter names (None when it is absent); 422 for anything but an RFC 3339 time."""
    if text is None:
        return None
    try:
        return parse_rfc3339(text)
    except ValueError as error:
        raise Invalid(f"{name}: {error}") from None


def time_parameter(description: str) -> Any:
    """A query parameter documented as a `date-time` and read by `query_time` (Litestar would take numbers too)."""
    return Parameter(description=description, schema_extra={"format": "date-time"})
