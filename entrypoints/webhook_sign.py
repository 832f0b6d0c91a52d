"""`mcpay webhook sign`: a test webhook body signed as the gateway signs it, to send with curl."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from adapters.clickpesa.checksum import checksum
from adapters.stripe.simulator import sign
from entrypoints.bootstrap import webhook_secret
from entrypoints.settings import Settings, load_settings

GATEWAYS = ("stripe", "clickpesa")


class UnsignableBody(ValueError):
    """The file is not a webhook body that can be signed."""


def add_command(commands: Any) -> None:
    """`webhook sign --gateway stripe|clickpesa FILE` under the `mcpay` command line."""
    webhook = commands.add_parser("webhook", help="webhook tools").add_subparsers(title="webhook commands")
    sign_command = webhook.add_parser(
        "sign",
        help="sign a JSON webhook body with this deployment's secret: prints the Stripe-Signature header value "
        "(stripe) or the body with its checksum added (clickpesa)",
    )
    sign_command.add_argument("--gateway", required=True, choices=GATEWAYS)
    sign_command.add_argument("file", type=Path, help="the JSON body, sent later byte for byte (curl --data-binary)")
    sign_command.set_defaults(run=_run)


def signed_webhook(gateway: str, body: bytes, settings: Settings) -> str:
    """Stripe: the `Stripe-Signature` value for exactly these bytes. ClickPesa: the body with `checksum` set."""
    payload = _json_object(body)
    secret = webhook_secret(settings, gateway)
    if gateway == "stripe":
        return sign(body, secret)
    payload["checksum"] = checksum(payload, secret)
    return json.dumps(payload, ensure_ascii=False)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise UnsignableBody("the file is not UTF-8 JSON") from None
    if not isinstance(payload, dict):
        raise UnsignableBody("the file is not a JSON object")
    return payload


def _run(args: argparse.Namespace) -> int:
    try:
        body = args.file.read_bytes()
        print(signed_webhook(args.gateway, body, load_settings()))
    except (OSError, UnsignableBody) as error:
        print(f"mcpay: {args.file}: {error}", file=sys.stderr)
        return 2
    return 0
