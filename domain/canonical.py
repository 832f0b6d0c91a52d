"""Canonical JSON: the one byte form of a value that is hashed or signed (API.md, "Audit")."""

from __future__ import annotations

import json
from typing import Any

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """Keys sorted at every level, no spaces, UTF-8 characters as they are (json.dumps with those options)."""
    return _CANONICAL.encode(value)
