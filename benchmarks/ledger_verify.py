"""Offline verification of a large export: events/s beside the raw read rate, and peak memory.

Builds an export of `--lines` ledger lines (1,000,000 by default) shaped like the service's own:
payments initiated, referenced, checked out, confirmed and credited, one in twenty refunded,
one in ten followed by a spend its owner signed (checked against the owner's key), a signed
checkpoint every 100,000 lines. Then, each in a fresh process, it reads the file (only
reading and JSON-decoding each line: the floor any verifier pays) and verifies it in full
(`application.audit.verify.verify_export`). Peak RSS per process shows memory stays bounded:
the verifier keeps per-stream state, never the file.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from uuid import UUID

from nacl.signing import SigningKey

from adapters.identity import Ed25519Signatures
from adapters.ledger_signing import Ed25519LedgerSigner
from application.audit.chain import ZERO_HASH, canonical_json, rfc3339, seal, signature_line
from application.audit.verify import verify_export
from domain.spend import SPEND_MESSAGE_TYPE, spend_id_of

SIGNER = Ed25519LedgerSigner("be" * 32)
USERS = 20_000
SPEND_EVERY = 10  # payments
CHECKPOINT_EVERY = 100_000
START = datetime(2026, 1, 1, tzinfo=UTC)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks ledger_verify", description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="ledger lines in the export (default 1000000)")
    parser.add_argument("--keep", type=Path, help="write the export here and keep it (default: a temporary file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mcpay-bench-") as scratch:
        path = args.keep or Path(scratch) / "ledger.ndjson"
        spawn = get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn, max_tasks_per_child=1) as pool:
            built_in = pool.submit(build_export, str(path), args.lines).result()
        megabytes = path.stat().st_size / 1e6
        print(f"export: {args.lines:,} lines, {megabytes:,.1f} MB, built in {built_in:.1f} s")
        idle = _in_fresh_process(idle_process)
        raw = _in_fresh_process(read_only, str(path))
        verified = _in_fresh_process(verify_file, str(path))
    _report("read + JSON-decode only", raw, megabytes, "lines/s")
    _report("verify: chain, checkpoints, rules, signature", verified, megabytes, "events/s")
    print(f"  verify runs at {verified['rate'] / raw['rate']:.2f} x the raw read rate")
    print(f"  peak RSS of an idle interpreter with the same imports: {idle['peak_mb']:.1f} MB")
    print(f"  verdict: {verified['verdict']}")


def build_export(path: str, lines: int) -> float:
    """Writes a signed, hash-chained export of exactly `lines` ledger lines; answers the seconds taken."""
    started = time.perf_counter()
    synthetic, prev = _Synthetic(), ZERO_HASH
    with open(path, "w", encoding="utf-8", newline="\n") as file:

        def write(unsealed: dict[str, Any]) -> None:
            nonlocal prev
            line = seal(unsealed, prev)
            prev = line["hash"]
            file.write(canonical_json(line) + "\n")

        while synthetic.position + 13 <= lines:  # room for a whole payment (refund, spend and checkpoint included)
            if synthetic.position // CHECKPOINT_EVERY > synthetic.checkpoints:
                for line in synthetic.checkpoint(prev):
                    write(line)
            for line in synthetic.payment():
                write(line)
        while synthetic.position < lines:
            write(synthetic.filler())
        file.write(canonical_json(signature_line(lines, prev, SIGNER.public_key, SIGNER.sign(prev.encode()))) + "\n")
    return time.perf_counter() - started


def idle_process() -> dict[str, Any]:
    return {"peak_mb": _peak_mb()}


def read_only(path: str) -> dict[str, Any]:
    started, count = time.perf_counter(), 0
    with open(path, "rb") as file:
        for raw in file:
            json.loads(raw)
            count += 1
    return {"seconds": time.perf_counter() - started, "count": count, "peak_mb": _peak_mb()}


def verify_file(path: str) -> dict[str, Any]:
    started = time.perf_counter()
    with open(path, "rb") as file:
        result = verify_export(file, SIGNER.public_key, Ed25519Signatures())
    seconds = time.perf_counter() - started
    verdict = (
        f"ok, {len(result.balances):,} balances and {len(result.payees):,} payees rebuilt"
        if result.ok
        else f"FAILED {result.problem}"
    )
    return {"seconds": seconds, "count": result.lines, "peak_mb": _peak_mb(), "verdict": verdict}


class _Synthetic:
    """Lines shaped like the service's own, and what it takes to keep them consistent."""

    def __init__(self) -> None:
        self.position = 0
        self.payments = 0
        self.checkpoints = 0
        self.balances: dict[str, Decimal] = {}
        self.wallet_versions: dict[str, int] = {}
        self.keys: dict[int, SigningKey] = {}
        self.users: dict[str, int] = {}  # user_id: the number of their wallet

    def line(self, stream: UUID, stream_type: str, version: int, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        self.position += 1
        return {
            "position": self.position,
            "stream_id": str(stream),
            "stream_type": stream_type,
            "version": version,
            "type": kind,
            "timestamp": rfc3339(START + timedelta(milliseconds=self.position)),
            "data": data,
        }

    def wallet(self, user: str, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        version = self.wallet_versions.get(user, 0) + 1
        self.wallet_versions[user] = version
        return self.line(UUID(int=(1 << 120) + self.users[user]), "Wallet", version, kind, data)

    def key(self, index: int) -> SigningKey:
        """Each user's own key: their user_id is its public half, and they sign their spends with it."""
        key = self.keys.get(index)
        if key is None:
            key = self.keys[index] = SigningKey(index.to_bytes(32, "big"))
            self.users[key.verify_key.encode().hex()] = index
        return key

    def payment(self) -> Iterator[dict[str, Any]]:
        self.payments += 1
        number = self.payments
        key = self.key(number % USERS)
        user, pid, reference = key.verify_key.encode().hex(), UUID(int=number), f"MC{number:012d}"
        amount = str(Decimal(5 + number % 200).quantize(Decimal("0.01")))
        yield self.line(pid, "Payment", 1, "PaymentInitiated", {
            "payment_id": str(pid), "user_id": user, "gateway": "stripe", "reference": reference,
            "amount": amount, "currency": "USD", "rate": "1", "credits": amount,
        })  # fmt: skip
        yield self.line(UUID(int=(2 << 120) + number), "PaymentReference", 1, "PaymentReferenceClaimed", {
            "reference": reference, "payment_id": str(pid),
        })  # fmt: skip
        yield self.line(pid, "Payment", 2, "CheckoutOpened", {
            "payment_url": f"https://checkout.stripe.com/c/pay/cs_{number}", "checkout_id": f"cs_{number}",
            "instructions": {},
        })  # fmt: skip
        yield self.line(pid, "Payment", 3, "PaymentConfirmed", {
            "paid_amount": amount, "paid_currency": "USD", "key": f"stripe:cs_{number}:paid",
            "evidence": {"gateway_event_id": f"evt_{number}", "payload_sha256": f"{number:064x}"},
        })  # fmt: skip
        if user not in self.balances:
            self.balances[user] = Decimal("0.00")
            yield self.wallet(user, "WalletOpened", {"user_id": user})
        self.balances[user] += Decimal(amount)
        yield self.wallet(user, "CreditsToppedUp", {
            "payment_id": str(pid), "amount": amount, "balance_after": str(self.balances[user]),
        })  # fmt: skip
        if number % 20 == 0:
            yield self.line(pid, "Payment", 4, "PaymentRefunded", {
                "refunded_amount": amount, "refunded_currency": "USD", "credits_reversed": amount,
                "key": f"stripe:re_{number}", "evidence": {"gateway_event_id": f"evt_re_{number}"},
            })  # fmt: skip
            self.balances[user] -= Decimal(amount)
            yield self.wallet(user, "CreditsReversed", {
                "payment_id": str(pid), "amount": amount, "reason": "refunded",
                "balance_after": str(self.balances[user]),
            })  # fmt: skip
        elif number % SPEND_EVERY == 0:
            yield self.spend(key, user, number, str((Decimal(amount) / 2).quantize(Decimal("0.01"))))

    def spend(self, key: SigningKey, user: str, number: int, amount: str) -> dict[str, Any]:
        payee, order_id, signed_at = f"shop-{number // SPEND_EVERY % 50}", f"order-{number}", "2026-01-01T00:00:00Z"
        message = canonical_json({
            "type": SPEND_MESSAGE_TYPE, "user_id": user, "payee": payee, "order_id": order_id, "amount": amount,
            "currency": "MC", "memo": "", "signed_at": signed_at,
        })  # fmt: skip
        self.balances[user] -= Decimal(amount)
        return self.wallet(user, "CreditsSpent", {
            "spend_id": str(spend_id_of(user, payee, order_id)), "payee": payee, "order_id": order_id,
            "amount": amount, "memo": "", "signed_at": signed_at, "message": message,
            "signature": key.sign(message.encode()).signature.hex(), "balance_after": str(self.balances[user]),
        })  # fmt: skip

    def checkpoint(self, head_hash: str) -> Iterator[dict[str, Any]]:
        """Vouches for the chain hash at the last line written, as `mcpay ledger checkpoint` does."""
        self.checkpoints += 1
        stream, position = UUID(int=3 << 120), self.position
        if self.checkpoints == 1:
            yield self.line(stream, "LedgerCheckpoint", 1, "LedgerCheckpointsOpened", {})
        signature = SIGNER.sign(head_hash.encode())
        yield self.line(stream, "LedgerCheckpoint", self.checkpoints + 1, "LedgerCheckpointRecorded", {
            "position": position, "head_hash": head_hash, "public_key": SIGNER.public_key, "signature": signature,
        })  # fmt: skip

    def filler(self) -> dict[str, Any]:
        return self.line(UUID(int=(4 << 120) + self.position), "UnmatchedGatewayEvent", 1,
            "UnmatchedGatewayEventRecorded", {"gateway": "stripe", "key": f"evt_{self.position}", "reference": "",
            "evidence": {}})  # fmt: skip


def _in_fresh_process(task: Any, *args: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        result: dict[str, Any] = pool.submit(task, *args).result()
    return result


def _report(what: str, measured: dict[str, Any], megabytes: float, unit: str) -> None:
    rate = measured["count"] / measured["seconds"]
    measured["rate"] = rate
    print(
        f"  {what}: {rate:,.0f} {unit} ({megabytes / measured['seconds']:,.1f} MB/s, "
        f"{measured['seconds']:.1f} s), peak RSS {measured['peak_mb']:.1f} MB"
    )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
