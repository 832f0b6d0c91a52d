"""Offline verification of a signed export: every link, every checkpoint, the signature, the rules.

Needs no database and no settings: only the export's lines, the public key expected to have
signed it, and something that checks ed25519 signatures.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from application.audit.book import LedgerBook, LedgerProblem
from application.audit.chain import EXPORT_SIGNATURE, ZERO_HASH, canonical_json, link_hash
from application.ports import SignatureVerifier

LINE_FIELDS = ("position", "stream_id", "stream_type", "version", "type", "timestamp", "data", "prev_hash", "hash")
SIGNATURE_FIELDS = ("count", "head_hash", "public_key", "signature")
CHECKPOINT_RECORDED = "LedgerCheckpointRecorded"
CHECKPOINT_REACH = 100_000  # how many lines back a checkpoint may name the position it vouches for
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class Verification:
    lines: int
    head_hash: str
    checkpoints: int
    balances: Mapping[str, Decimal] = field(default_factory=dict)  # every wallet's
    problem: LedgerProblem | None = None
    payees: Mapping[str, Decimal] = field(default_factory=dict)
    gateways: Mapping[str, Decimal] = field(default_factory=dict)  # below zero by what was bought through each

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_export(
    lines: Iterable[bytes | str],
    public_key: str,
    signatures: SignatureVerifier,
    checkpoint_keys: Collection[str] = (),
) -> Verification:
    """Reads the export once, in order; stops at the first problem."""
    check = _ExportCheck(public_key.lower(), signatures, {public_key.lower(), *(k.lower() for k in checkpoint_keys)})
    try:
        for raw in lines:
            check.read(raw)
        check.finish()
    except LedgerProblem as problem:
        return check.result(problem)
    return check.result(None)


class _RecentHashes:
    """The chain hash at each of the last CHECKPOINT_REACH positions."""

    def __init__(self) -> None:
        self._hashes: dict[int, bytes] = {}
        self._order: deque[int] = deque()

    def remember(self, position: int, chain_hash: str) -> None:
        self._hashes[position] = bytes.fromhex(chain_hash)
        self._order.append(position)
        if len(self._order) > CHECKPOINT_REACH:
            del self._hashes[self._order.popleft()]

    def at(self, position: int) -> str | None:
        found = self._hashes.get(position)
        return None if found is None else found.hex()

    def forgot(self, position: int) -> bool:
        return bool(self._order) and position < self._order[0]


class _ExportCheck:
    def __init__(self, public_key: str, signatures: SignatureVerifier, trusted: set[str]) -> None:
        self._public_key = public_key
        self._signatures = signatures
        self._trusted = trusted
        self._book = LedgerBook(signatures)
        self._recent = _RecentHashes()
        self._versions: dict[str, int] = {}
        self._number = 0
        self._count = 0
        self._position = 0
        self._head = ZERO_HASH
        self._checkpoints = 0
        self._signed = False

    def result(self, problem: LedgerProblem | None) -> Verification:
        accounts = self._book.accounts
        return Verification(
            self._count,
            self._head,
            self._checkpoints,
            dict(sorted(accounts.wallets.items())),
            problem,
            dict(sorted(accounts.payees.items())),
            dict(sorted(accounts.gateways.items())),
        )

    def read(self, raw: bytes | str) -> None:
        self._number += 1
        number = self._number
        if self._signed:
            raise LedgerProblem(number, "a line follows the ExportSignature line")
        line = _parse(number, raw)
        if line.get("type") == EXPORT_SIGNATURE and "stream_id" not in line:
            self._signature(number, line)
            return
        self._link(number, line)
        self._book.apply(number, line)
        if line["type"] == CHECKPOINT_RECORDED:
            self._checkpoint(number, line["data"])

    def finish(self) -> None:
        if not self._signed:
            self._book.raise_open_problem()
            raise LedgerProblem(self._number + 1, "the export ends without its ExportSignature line (truncated?)")

    def _link(self, number: int, line: dict[str, Any]) -> None:
        _require_fields(number, line, LINE_FIELDS)
        position, version, stream = line["position"], line["version"], line["stream_id"]
        if not (_is_int(position) and _is_int(version) and isinstance(stream, str) and isinstance(line["data"], dict)):
            raise LedgerProblem(number, "position and version must be integers, stream_id a string, data an object")
        if line["prev_hash"] != self._head:
            if self._count == 0:
                raise LedgerProblem(number, "prev_hash of the first line must be 64 zeros")
            raise LedgerProblem(
                number, f"prev_hash is not the hash of line {number - 1}: a line was deleted, inserted or moved"
            )
        claimed = line.pop("hash")
        if link_hash(self._head, line) != claimed:
            raise LedgerProblem(number, "hash does not match the line's content: the line was altered")
        if position <= self._position:
            raise LedgerProblem(number, f"position {position} does not come after position {self._position}")
        due = self._versions.get(stream, 0) + 1
        if version != due:
            raise LedgerProblem(
                number, f"{line['stream_type']} {stream} has version {version} where {due} is due: an event is missing"
            )
        self._versions[stream] = version
        self._position, self._head = position, claimed
        self._count += 1
        self._recent.remember(position, self._head)

    def _checkpoint(self, number: int, data: dict[str, Any]) -> None:
        _require_fields(number, data, ("position", "head_hash", "public_key", "signature"), "checkpoint data")
        position, vouched, key = data["position"], str(data["head_hash"]), str(data["public_key"])
        if key not in self._trusted:
            raise LedgerProblem(number, f"the checkpoint is signed by key {key}, not by the expected key")
        if not self._signatures.verify(key, vouched.encode(), str(data["signature"])):
            raise LedgerProblem(number, "the checkpoint's signature is not valid for its head_hash: forged or altered")
        recomputed = self._recent.at(position) if _is_int(position) else None
        if recomputed is None:
            if _is_int(position) and self._recent.forgot(position):
                raise LedgerProblem(number, f"the checkpoint names position {position}, too far back to check")
            raise LedgerProblem(number, f"the checkpoint names position {position}, which no line of the export has")
        if recomputed != vouched:
            raise LedgerProblem(
                number,
                f"the checkpoint vouched for hash {vouched} at position {position}, but the export's chain has "
                f"{recomputed} there: the history up to that position was rewritten",
            )
        self._checkpoints += 1

    def _signature(self, number: int, line: dict[str, Any]) -> None:
        self._book.raise_open_problem()
        self._book.raise_unbalanced(number)
        _require_fields(number, line, SIGNATURE_FIELDS, "ExportSignature")
        if line["count"] != self._count:
            raise LedgerProblem(number, f"ExportSignature counts {line['count']} lines, the export has {self._count}")
        if line["head_hash"] != self._head:
            raise LedgerProblem(number, "ExportSignature head_hash is not the hash of the last line")
        if line["public_key"] != self._public_key:
            raise LedgerProblem(
                number, f"the export is signed by key {line['public_key']}, not by the expected key {self._public_key}"
            )
        if not self._signatures.verify(self._public_key, str(line["head_hash"]).encode(), str(line["signature"])):
            raise LedgerProblem(number, "the ExportSignature signature is not valid for head_hash: forged or altered")
        self._signed = True


def _parse(number: int, raw: bytes | str) -> dict[str, Any]:
    """The line's object, if its bytes are exactly its canonical JSON (and a newline, but for the last line).

    The hash covers the parsed object, so any other spelling of it (a duplicated key, spaces, another key
    order, \\u escapes) would verify while other readers of the file may read something else.
    """
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
        body = text.removesuffix("\n")
        line = _DECODER.decode(body)
    except ValueError:
        raise LedgerProblem(number, "is not a JSON object") from None
    if not isinstance(line, dict):
        raise LedgerProblem(number, "is not a JSON object")
    if canonical_json(line) != body:
        raise LedgerProblem(
            number,
            "is not byte for byte its canonical JSON (a duplicated key, spaces, another key order or \\u "
            "escapes): the line was rewritten",
        )
    return line


def _require_fields(number: int, line: dict[str, Any], names: Iterable[str], what: str = "the line") -> None:
    missing = [name for name in names if name not in line]
    if missing:
        raise LedgerProblem(number, f"{what} lacks {', '.join(missing)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
