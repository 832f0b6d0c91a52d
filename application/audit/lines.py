"""A stored event as a ledger line: what it is, where it sits, and its attributes as plain JSON."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from application.audit.chain import canonical_json, rfc3339

# Where the event sits is said by the line itself (stream_id, version, timestamp, stream_type).
ORIGINATOR_FIELDS = frozenset({"originator_id", "originator_version", "originator_topic", "timestamp"})


def ledger_line(position: int, event: Any) -> dict[str, Any]:
    """The line for a domain event at a notification position, before it is chained."""
    kind = type(event)
    stream_type, _, _ = kind.__qualname__.rpartition(".")
    return {
        "position": position,
        "stream_id": str(event.originator_id),
        "stream_type": stream_type or kind.__name__,
        "version": event.originator_version,
        "type": kind.__name__,
        "timestamp": rfc3339(event.timestamp),
        "data": {name: json_value(value) for name, value in vars(event).items() if name not in ORIGINATOR_FIELDS},
    }


def json_value(value: Any) -> Any:
    """Decimals as plain decimal strings, UUIDs as strings, datetimes in RFC 3339 UTC, sets sorted."""
    if isinstance(value, Enum):
        return json_value(value.value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((json_value(item) for item in value), key=canonical_json)
    return str(value)
