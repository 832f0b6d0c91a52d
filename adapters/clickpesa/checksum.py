"""ClickPesa's canonical checksum: HMAC-SHA256 over key-sorted compact JSON, unescaped UTF-8."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

UNSIGNED_FIELDS = ("checksum", "checksumMethod")


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    unsigned = {key: value for key, value in payload.items() if key not in UNSIGNED_FIELDS}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def checksum(payload: Mapping[str, Any], secret: str) -> str:
    return hmac.new(secret.encode(), canonical_json(payload), hashlib.sha256).hexdigest()


def matches(payload: Mapping[str, Any], secret: str, claimed: str) -> bool:
    """Constant-time comparison; a claim with non-ASCII characters simply does not match."""
    return hmac.compare_digest(checksum(payload, secret).encode(), claimed.strip().lower().encode())
