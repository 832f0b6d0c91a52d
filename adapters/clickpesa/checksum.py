"""ClickPesa's canonical checksum: HMAC-SHA256 over key-sorted compact JSON, unescaped UTF-8."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

UNSIGNED_FIELDS = ("checksum", "checksumMethod")


def canonical_json(payload: dict[str, Any]) -> bytes:
    unsigned = {key: value for key, value in payload.items() if key not in UNSIGNED_FIELDS}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def checksum(payload: dict[str, Any], secret: str) -> str:
    return hmac.new(secret.encode(), canonical_json(payload), hashlib.sha256).hexdigest()


def matches(payload: dict[str, Any], secret: str, claimed: str) -> bool:
    return hmac.compare_digest(checksum(payload, secret), claimed.strip().lower())
