"""The `mcpay` command line."""

from __future__ import annotations

import argparse
import faulthandler
import sys
from collections.abc import Sequence

from nacl.signing import SigningKey

from application.replay import check_balances
from entrypoints import ledger_cli, projections_cli, webhook_sign
from entrypoints.bootstrap import bootstrap
from entrypoints.settings import SettingsError, load_settings


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
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mcpay", description="Payments and the Mycelium Credits ledger.")
    commands = parser.add_subparsers(title="commands")
    serve = commands.add_parser("serve", help="serve the API and the SPA (HOST, PORT, DATABASE_URL)")
    serve.set_defaults(run=_serve)
    keygen = commands.add_parser("keygen", help="print a new ed25519 keypair (hex)")
    keygen.set_defaults(run=_keygen)
    sign = commands.add_parser("sign", help="sign a sign-in challenge with a private key (hex signature)")
    sign.add_argument("--private-key", required=True, help="64-hex-digit ed25519 private seed (from keygen)")
    sign.add_argument("challenge", help="the challenge exactly as /api/auth/challenge returned it")
    sign.set_defaults(run=_sign)
    ledger = commands.add_parser("ledger", help="ledger tools").add_subparsers(title="ledger commands")
    replay = ledger.add_parser("replay", help="rebuild every balance from the events and compare with the wallets")
    replay.add_argument("--as-of", help="an RFC 3339 time: print the balances as they stood then, rebuilt by replay")
    replay.set_defaults(run=_replay)
    ledger_cli.add_commands(ledger)
    reconcile = commands.add_parser("reconcile", help="ask the gateways once about payments pending too long")
    reconcile.set_defaults(run=_reconcile)
    webhook_sign.add_command(commands)
    projections_cli.add_command(commands)
    return parser


def _serve(_: argparse.Namespace) -> int:
    import uvicorn

    from adapters.prometheus_metrics import PrometheusMetrics
    from entrypoints.http.app import create_app
    from entrypoints.logs import configure_logging

    settings = load_settings()
    configure_logging(settings)
    services = bootstrap(settings, metrics=PrometheusMetrics())
    mode = "demo" if settings.demo_payment else "live"
    print(f"mcpay: serving on {settings.public_base_url} ({mode} mode, {_store_name(settings.database_url)})")
    # Logging is ours (configure_logging): uvicorn's lines go through it, its access log is replaced by ours.
    app = create_app(services)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
    return 0


def _keygen(_: argparse.Namespace) -> int:
    key = SigningKey.generate()
    print(f"private_key={key.encode().hex()}")
    print(f"public_key={key.verify_key.encode().hex()}")
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
    services = bootstrap(load_settings())
    try:
        checks = check_balances(services.ledger)
    finally:
        services.close()
    disagreements = [check for check in checks if not check.agrees]
    print(f"{'user_id':64}  {'replayed MC':>14}  {'wallet MC':>14}")
    for check in checks:
        mark = "" if check.agrees else "  MISMATCH"
        print(f"{check.user_id:64}  {check.replayed:>14}  {check.wallet:>14}{mark}")
    print(f"{len(checks)} wallets, {len(disagreements)} disagreements")
    return 1 if disagreements else 0


def _reconcile(_: argparse.Namespace) -> int:
    services = bootstrap(load_settings())
    try:
        report = services.reconciler.run_once()
    finally:
        services.close()
    outcomes = ", ".join(f"{name}: {count}" for name, count in sorted(report.outcomes.items())) or "nothing to do"
    print(
        f"examined {report.examined} pending payments and asked about refunds and disputes of "
        f"{report.asked_about_reversals} credited ones; {outcomes}; gateway errors: {report.errors}"
    )
    return 1 if report.errors else 0


def _store_name(database_url: str) -> str:
    return database_url.split("://", 1)[0] if "@" in database_url else database_url


if __name__ == "__main__":
    raise SystemExit(main())
