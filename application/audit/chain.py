"""The hash chain: canonical JSON, and each line's hash over the previous hash and its own content."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from domain.canonical import canonical_json

ZERO_HASH = "0" * 64
EXPORT_SIGNATURE = "ExportSignature"

__all__ = [
    "EXPORT_SIGNATURE",
    "ZERO_HASH",
    "canonical_json",
    "link_hash",
    "parse_rfc3339",
    "rfc3339",
    "seal",
    "signature_line",
]


def link_hash(prev_hash: str, unsealed: dict[str, Any]) -> str:
    """SHA-256 (lowercase hex) of `prev_hash` followed by the canonical JSON of the line without `hash`."""
    return hashlib.sha256((prev_hash + canonical_json(unsealed)).encode()).hexdigest()


def seal(unsealed: dict[str, Any], prev_hash: str) -> dict[str, Any]:
    """The line with its `prev_hash` and `hash`."""
    line = {**unsealed, "prev_hash": prev_hash}
    line["hash"] = link_hash(prev_hash, line)
    return line


def signature_line(count: int, head_hash: str, public_key: str, signature: str) -> dict[str, Any]:
    return {
        "type": EXPORT_SIGNATURE,
        "count": count,
        "head_hash": head_hash,
        "public_key": public_key,
        "signature": signature,
    }


def rfc3339(moment: datetime) -> str:
    """UTC, always with microseconds: 2026-03-01T12:00:00.000000Z."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: str) -> datetime:
    """A time with its UTC offset (2026-03-01T12:00:00Z); ValueError otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 time (e.g. 2026-03-01T12:00:00Z)") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} lacks its UTC offset (e.g. 2026-03-01T12:00:00Z)")
    return moment
