"""The `mcpay` command line."""

from __future__ import annotations

import argparse
import faulthandler
import re
import sys
from collections.abc import Sequence
from importlib.metadata import version

from nacl.signing import SigningKey

from adapters.read_side.schema_version import ReadSchemaTooNew
from application.replay import check_ledger
from entrypoints import ledger_cli, projections_cli, serve, webhook_sign
from entrypoints.bootstrap import bootstrap
from entrypoints.progress import ProgressBar, add_no_progress
from entrypoints.settings import SettingsError, load_settings

SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def main(argv: Sequence[str] | None = None) -> int:
    if not faulthandler.is_enabled():  # a crash in C code (a driver, a thread) prints every thread's traceback
        faulthandler.enable()
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        code: int = args.run(args)
    except SettingsError as error:
        print(f"mcpay: configuration error: {error}", file=sys.stderr)
        return 2
    except ReadSchemaTooNew as error:
        print(f"mcpay: {error}", file=sys.stderr)
        return 2
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mcpay", description="Payments and the Mycelium Credits ledger.")
    parser.add_argument("--version", action="version", version=f"mcpay {version('mcpay')}")
    commands = parser.add_subparsers(title="commands")
    serve.add_command(commands)
    keygen = commands.add_parser("keygen", help="print a new ed25519 keypair (hex)")
    keygen.add_argument(
        "--shell",
        action="store_true",
        help='as shell assignments, PRIVATE_KEY=... PUBLIC_KEY=...: eval "$(mcpay keygen --shell)"',
    )
    keygen.add_argument("--prefix", default="", help="with --shell: before each name, e.g. ADMIN_ (ADMIN_PUBLIC_KEY)")
    keygen.set_defaults(run=_keygen)
    sign = commands.add_parser("sign", help="sign a sign-in challenge with a private key (hex signature)")
    sign.add_argument("--private-key", required=True, help="64-hex-digit ed25519 private seed (from keygen)")
    sign.add_argument("challenge", help="the challenge exactly as /api/auth/challenge returned it")
    sign.set_defaults(run=_sign)
    ledger = commands.add_parser("ledger", help="ledger tools").add_subparsers(title="ledger commands")
    replay = ledger.add_parser("replay", help="rebuild every balance from the events and compare with the wallets")
    replay.add_argument("--as-of", help="an RFC 3339 time: print the balances as they stood then, rebuilt by replay")
    add_no_progress(replay)
    replay.set_defaults(run=_replay)
    ledger_cli.add_commands(ledger)
    reconcile = commands.add_parser("reconcile", help="ask the gateways once about payments pending too long")
    add_no_progress(reconcile)
    reconcile.set_defaults(run=_reconcile)
    webhook_sign.add_command(commands)
    projections_cli.add_command(commands)
    return parser


def _keygen(args: argparse.Namespace) -> int:
    if args.prefix and not SHELL_NAME.fullmatch(args.prefix):
        print("mcpay: --prefix must be letters, digits and _ (a shell variable name's start)", file=sys.stderr)
        return 2
    key = SigningKey.generate()
    private, public = key.encode().hex(), key.verify_key.encode().hex()
    if args.shell:
        print(f"{args.prefix}PRIVATE_KEY={private}")
        print(f"{args.prefix}PUBLIC_KEY={public}")
    else:
        print(f"private_key={private}")
        print(f"public_key={public}")
    return 0


def _sign(args: argparse.Namespace) -> int:
    try:
        key = SigningKey(bytes.fromhex(args.private_key))
    except ValueError:
        print("mcpay: --private-key must be 64 hex digits", file=sys.stderr)
        return 2
    print(key.sign(args.challenge.encode()).signature.hex())
    return 0


def _replay(args: argparse.Namespace) -> int:
    if args.as_of is not None:
        return ledger_cli.balances_as_of(args.as_of)
    with bootstrap(load_settings()) as services, ProgressBar("replaying", enabled=not args.no_progress) as progress:
        checked = check_ledger(services.ledger, progress.report)
    disagreements = [check for check in checked.wallets if not check.agrees]
    print(f"{'user_id':64}  {'replayed MC':>14}  {'wallet MC':>14}")
    for check in checked.wallets:
        mark = "" if check.agrees else "  MISMATCH"
        print(f"{check.user_id:64}  {check.replayed:>14}  {check.wallet:>14}{mark}")
    print(f"{len(checked.wallets)} wallets, {len(disagreements)} disagreements")
    ledger_cli.print_accounts(checked.payees, checked.gateways)
    if not checked.balanced:
        print("mcpay: the accounts do not add up to zero: a move lacks its counterpart", file=sys.stderr)
    return 0 if checked.agrees else 1


def _reconcile(args: argparse.Namespace) -> int:
    with bootstrap(load_settings()) as services, ProgressBar("reconciling", enabled=not args.no_progress) as progress:
        report = services.reconciler.run_once(progress.report)
    outcomes = ", ".join(f"{name}: {count}" for name, count in sorted(report.outcomes.items())) or "nothing to do"
    print(
        f"examined {report.examined} pending payments and asked about refunds and disputes of "
        f"{report.asked_about_reversals} credited ones; {outcomes}; gateway errors: {report.errors}"
    )
    return 1 if report.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
