"""`mcpay ledger export | verify | checkpoint`, and balances as they stood at a time."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.identity import Ed25519Signatures
from adapters.ledger_signing import Ed25519LedgerSigner
from application.audit.chain import parse_rfc3339
from application.audit.verify import verify_export
from application.errors import SigningKeyMissing
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.progress import ProgressBar, add_no_progress
from entrypoints.settings import load_settings

PUBLIC_KEY = re.compile(r"[0-9a-f]{64}")


def add_commands(ledger: Any) -> None:
    """Adds the auditor's commands to the `mcpay ledger` subparsers."""
    export = ledger.add_parser("export", help="write the whole ledger, hash-chained and signed, as NDJSON")
    export.add_argument("--out", required=True, help="the file to write (replaced once complete)")
    add_no_progress(export)
    export.set_defaults(run=export_ledger)
    verify = ledger.add_parser("verify", help="check an export offline and rebuild every balance from it")
    verify.add_argument("file", help="an export written by `mcpay ledger export` or GET /api/audit/export")
    verify.add_argument("--public-key", required=True, help="the service's ledger public key (64 hex digits)")
    verify.add_argument(
        "--checkpoint-key",
        action="append",
        default=[],
        help="also accept checkpoints signed by this key (an earlier ledger key); repeatable",
    )
    add_no_progress(verify)
    verify.set_defaults(run=verify_file)
    checkpoint = ledger.add_parser("checkpoint", help="record a signed checkpoint of the ledger's chain hash now")
    checkpoint.set_defaults(run=record_checkpoint)
    public_key = ledger.add_parser(
        "public-key", help="print the ledger's public key: what `ledger verify --public-key` and payees check with"
    )
    public_key.set_defaults(run=print_public_key)


def export_ledger(args: argparse.Namespace) -> int:
    settings = load_settings()
    out = Path(args.out)
    partial = out.with_name(out.name + ".partial")
    try:
        with bootstrap(settings) as services:
            last = _write_export(services, partial, progress=not args.no_progress)
        partial.replace(out)
    except SigningKeyMissing as error:
        print(f"mcpay: cannot export: {error}", file=sys.stderr)
        partial.unlink(missing_ok=True)
        return 2
    signature = json.loads(last)
    print(f"exported {signature['count']} lines to {out}")
    print(f"head_hash={signature['head_hash']}")
    print(f"public_key={signature['public_key']}")
    if not settings.ledger_signing_key:
        print(
            "mcpay: demo mode: signed with this deployment's demo ledger key (LEDGER_SIGNING_KEY is not set); "
            f"verify with --public-key {signature['public_key']}",
            file=sys.stderr,
        )
    return 0


def _write_export(services: Services, partial: Path, *, progress: bool) -> str:
    """Write the export line by line into `partial`; answer its last line (the signature)."""
    last = ""
    head = services.ledger.head()
    with (
        partial.open("w", encoding="utf-8", newline="\n") as file,
        ProgressBar("exporting", enabled=progress) as bar,
    ):
        for count, line in enumerate(services.audit.export()):
            file.write(line)
            last = line
            bar.report(min(count, head), head)
    return last


def verify_file(args: argparse.Namespace) -> int:
    keys = [args.public_key.strip().lower(), *(key.strip().lower() for key in args.checkpoint_key)]
    if not all(PUBLIC_KEY.fullmatch(key) for key in keys):
        print("mcpay: public keys are 64 hex digits (ed25519)", file=sys.stderr)
        return 2
    path = Path(args.file)
    try:
        file = path.open("rb")
    except OSError as error:
        print(f"mcpay: cannot read {path}: {error.strerror}", file=sys.stderr)
        return 2
    with file, ProgressBar("verifying", enabled=not args.no_progress) as progress:
        lines = progress.track(file, path.stat().st_size)
        result = verify_export(lines, keys[0], Ed25519Signatures(), keys[1:])
    if result.problem is not None:
        print_balances(
            result.balances, f"balances rebuilt up to line {result.problem.line}, where verification stopped"
        )
        print_accounts(result.payees, result.gateways)
        print(f"FAILED: {result.problem}")
        print(f"mcpay: the export failed verification: {result.problem}", file=sys.stderr)
        return 1
    print_balances(result.balances, "balances rebuilt from the events alone")
    print_accounts(result.payees, result.gateways)
    print(
        f"verified: {result.lines} lines, {result.checkpoints} checkpoints, "
        f"head_hash {result.head_hash}, signed by {keys[0]}"
    )
    return 0


def print_public_key(_: argparse.Namespace) -> int:
    settings = load_settings()
    seed = settings.effective_ledger_signing_key
    if not seed:
        print("mcpay: no ledger key: set LEDGER_SIGNING_KEY (a seed from `mcpay keygen`)", file=sys.stderr)
        return 2
    print(Ed25519LedgerSigner(seed).public_key)
    return 0


def record_checkpoint(_: argparse.Namespace) -> int:
    try:
        with bootstrap(load_settings()) as services:
            checkpoint = services.audit.record_checkpoint()
    except SigningKeyMissing as error:
        print(f"mcpay: cannot record a checkpoint: {error}", file=sys.stderr)
        return 2
    if checkpoint is None:
        print("nothing new since the last checkpoint")
        return 0
    print(f"checkpoint at position {checkpoint.position}: head_hash={checkpoint.head_hash}")
    print(f"signed by public_key={checkpoint.public_key}")
    return 0


def balances_as_of(text: str) -> int:
    """`mcpay ledger replay --as-of TIME`: balances rebuilt from the events recorded up to then."""
    try:
        moment = parse_rfc3339(text)
    except ValueError as error:
        print(f"mcpay: --as-of: {error}", file=sys.stderr)
        return 2
    with bootstrap(load_settings()) as services:
        rebuilt = services.audit.balances(moment)
    print_balances(rebuilt.balances, f"balances as of {moment.isoformat()}")
    print_accounts(rebuilt.payees, rebuilt.gateways)
    return 0


def print_balances(balances: Mapping[str, Decimal], title: str) -> None:
    print(f"{title}:")
    print(f"{'user_id':64}  {'balance MC':>14}")
    for user_id, balance in balances.items():
        print(f"{user_id:64}  {balance:>14}")
    print(f"{len(balances)} wallets, {_total(balances)} MC in all")


def print_accounts(payees: Mapping[str, Decimal], gateways: Mapping[str, Decimal]) -> None:
    """The other side of every wallet's moves: what was spent with each payee, and each gateway's account
    (below zero by what was bought through it and not reversed). With the wallets they add up to zero."""
    print(f"{'account':64}  {'balance MC':>14}")
    for payee, balance in payees.items():
        print(f"{'payee ' + payee:64}  {balance:>14}")
    for gateway, balance in gateways.items():
        print(f"{'gateway ' + gateway:64}  {balance:>14}")
    spent, bought = _total(payees), _total(gateways)
    print(f"{len(payees)} payees, {spent} MC in all; {len(gateways)} gateway accounts, {bought} MC in all")


def _total(balances: Mapping[str, Decimal]) -> Decimal:
    return sum(balances.values(), Decimal("0.00"))
