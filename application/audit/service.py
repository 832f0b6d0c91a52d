"""The auditor's use cases on the store: ledger pages, the signed export, checkpoints, balances as of a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import islice
from typing import Any

from application.audit.chain import ZERO_HASH, canonical_json, seal, signature_line
from application.audit.lines import ledger_line
from application.errors import SigningKeyMissing
from application.ledger import Ledger, retry_on_conflict
from application.ports import Clock, LedgerSigner
from application.replay import ledger_events, replay_accounts
from domain.checkpoint import LedgerCheckpoint

CHECKPOINT_TOPIC = f"{LedgerCheckpoint.__module__}:{LedgerCheckpoint.__qualname__}."
REMEMBERED_HASHES = 256


@dataclass(frozen=True)
class Checkpoint:
    position: int
    head_hash: str
    public_key: str
    signature: str


@dataclass(frozen=True)
class Balances:
    as_of: datetime
    balances: dict[str, Decimal]  # every wallet's
    payees: dict[str, Decimal]
    gateways: dict[str, Decimal]  # below zero by what was bought through each and not reversed


class ChainHashes:
    """Chain hashes this process computed, so that the next page or checkpoint resumes from them."""

    def __init__(self) -> None:
        self._known: dict[int, str] = {0: ZERO_HASH}
        self._lock = threading.Lock()

    def nearest(self, position: int) -> tuple[int, str]:
        with self._lock:
            start = max(known for known in self._known if known <= position)
            return start, self._known[start]

    def remember(self, position: int, chain_hash: str) -> None:
        with self._lock:
            self._known[position] = chain_hash
            if len(self._known) > REMEMBERED_HASHES:
                del self._known[next(known for known in self._known if known != 0)]


class LedgerAudit:
    def __init__(self, ledger: Ledger, signer: LedgerSigner | None, clock: Clock) -> None:
        self._ledger = ledger
        self._signer = signer
        self._clock = clock
        self._hashes = ChainHashes()

    @property
    def public_key(self) -> str | None:
        return None if self._signer is None else self._signer.public_key

    def signer(self) -> LedgerSigner:
        if self._signer is None:
            raise SigningKeyMissing("LEDGER_SIGNING_KEY is not set: exports and checkpoints must be signed")
        return self._signer

    def page(self, after: int, limit: int) -> Iterator[str]:
        """Up to `limit` NDJSON lines after position `after`, chained exactly as in the full export."""
        stop = self._head()
        if after >= stop:
            return iter(())
        return self._page(after, limit, stop, self.hash_at(after))

    def export(self) -> Iterator[str]:
        """The whole ledger as NDJSON lines, ending with the signed ExportSignature line."""
        return self._export(self.signer(), self._head())

    def hash_at(self, position: int) -> str:
        """The chain hash after the last line at or before `position` (64 zeros before the first line)."""
        position = min(position, self._head())
        start, chain_hash = self._hashes.nearest(position)
        for line in self._chain(start, chain_hash, position):
            chain_hash = line["hash"]
        self._hashes.remember(position, chain_hash)
        return chain_hash

    def record_checkpoint(self) -> Checkpoint | None:
        """Sign and record the chain hash at the head; None when nothing but checkpoints came since the last."""
        signer = self.signer()
        head = self._head()
        if head == 0 or self._is_checkpoint(head):
            return None
        head_hash = self.hash_at(head)
        checkpoint = Checkpoint(head, head_hash, signer.public_key, signer.sign(head_hash.encode()))

        def attempt() -> Checkpoint | None:
            checkpoints = self._ledger.checkpoints() or LedgerCheckpoint()
            if checkpoints.position >= head:
                return None
            checkpoints.record(head, head_hash, checkpoint.public_key, checkpoint.signature)
            self._ledger.commit(checkpoints)
            return checkpoint

        return retry_on_conflict(attempt)

    def balances(self, as_of: datetime | None = None) -> Balances:
        """Every account's balance rebuilt from the events recorded up to `as_of` (default: now)."""
        moment = as_of or self._clock.now()
        accounts = replay_accounts(self._ledger, moment)
        return Balances(
            moment,
            dict(sorted(accounts.wallets.items())),
            dict(sorted(accounts.payees.items())),
            dict(sorted(accounts.gateways.items())),
        )

    def _page(self, after: int, limit: int, stop: int, prev_hash: str) -> Iterator[str]:
        last = None
        for line in islice(self._chain(after, prev_hash, stop), limit):
            last = line
            yield canonical_json(line) + "\n"
        if last is not None:
            self._hashes.remember(last["position"], last["hash"])

    def _export(self, signer: LedgerSigner, stop: int) -> Iterator[str]:
        count, head_hash = 0, ZERO_HASH
        for line in self._chain(0, ZERO_HASH, stop):
            count, head_hash = count + 1, line["hash"]
            yield canonical_json(line) + "\n"
        self._hashes.remember(stop, head_hash)
        signature = signer.sign(head_hash.encode())
        yield canonical_json(signature_line(count, head_hash, signer.public_key, signature)) + "\n"

    def _chain(self, after: int, prev_hash: str, stop: int) -> Iterator[dict[str, Any]]:
        for position, event in ledger_events(self._ledger, after, stop):
            line = seal(ledger_line(position, event), prev_hash)
            prev_hash = line["hash"]
            yield line

    def _head(self) -> int:
        return self._ledger.head()

    def _is_checkpoint(self, position: int) -> bool:
        last = self._ledger.notifications(position - 1, 1)  # the notification at `position`
        return bool(last) and last[0].topic.startswith(CHECKPOINT_TOPIC)
