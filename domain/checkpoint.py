"""Signed checkpoints: the ledger's chain hash, vouched for by the service, at moments in its history."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError


class CheckpointNotAhead(DomainError):
    """A checkpoint must cover more of the ledger than the one before it."""


class LedgerCheckpoint(Aggregate):
    """One per ledger; each checkpoint is a new version, so a deleted checkpoint leaves a gap."""

    @staticmethod
    def create_id() -> UUID:
        return uuid5(NAMESPACE_URL, "mcpay:ledger-checkpoint")

    @event("LedgerCheckpointsOpened")
    def __init__(self) -> None:
        self.position = 0
        self.head_hash = ""

    def record(self, position: int, head_hash: str, public_key: str, signature: str) -> None:
        """Vouch for `head_hash` as the chain hash at `position`, with a signature over it."""
        if position <= self.position:
            raise CheckpointNotAhead(f"position {position} is not past the last checkpoint at {self.position}")
        self._record(position, head_hash, public_key, signature)

    @event("LedgerCheckpointRecorded")
    def _record(self, position: int, head_hash: str, public_key: str, signature: str) -> None:
        self.position = position
        self.head_hash = head_hash
