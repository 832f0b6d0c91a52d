"""Ids derived from names (UUID version 5): one SHA-1 and a UUID each, so the names asked for often are kept."""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID, uuid5


@lru_cache(maxsize=65_536)
def named_id(namespace: UUID, name: str) -> UUID:
    """`uuid5(namespace, name)`, the same UUID however often it is asked for (a webhook asks three times)."""
    return uuid5(namespace, name)
