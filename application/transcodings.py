"""Aggregate state that events never carry, in shapes the library's JSON transcoder writes into snapshots."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from eventsourcing.persistence import Transcoding

from domain.approval import AdminApproval
from domain.money import Money
from domain.payment import HeldEvent


class SetAsSortedList(Transcoding):
    type = set
    name = "set"

    def encode(self, obj: set[Any]) -> list[Any]:
        return sorted(obj)

    def decode(self, data: list[Any]) -> set[Any]:
        return set(data)


class FieldsAsDict(Transcoding):
    """A frozen dataclass by its fields' names (each field transcodable in its own right)."""

    def __init__(self, kind: type[Any], name: str) -> None:
        self.type = kind
        self.name = name

    def encode(self, obj: Any) -> dict[str, Any]:
        return {field.name: getattr(obj, field.name) for field in fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


SNAPSHOT_TRANSCODINGS: tuple[Transcoding, ...] = (
    SetAsSortedList(),
    FieldsAsDict(Money, "money"),
    FieldsAsDict(HeldEvent, "held_event"),
    FieldsAsDict(AdminApproval, "admin_approval"),
)
