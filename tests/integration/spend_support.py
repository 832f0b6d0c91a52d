"""Signed spends as any client makes them: the canonical message rebuilt here with json.dumps, signed with pynacl."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from nacl.signing import SigningKey, VerifyKey

from tests.integration.support import SignedIn


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signed_at(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def spend_body(
    user: SignedIn,
    amount: str,
    order_id: str,
    payee: str = "shop.example:seller-7",
    memo: str = "",
    at: str | None = None,
    signer: SigningKey | None = None,
) -> dict[str, Any]:
    """A body for POST /api/wallet/spends; `amount` as the message carries it (2 decimals)."""
    when = at or signed_at()
    message = {
        "type": "mcpay.spend.v1",
        "user_id": user.user_id,
        "payee": payee,
        "order_id": order_id,
        "amount": amount,
        "currency": "MC",
        "memo": memo,
        "signed_at": when,
    }
    signature = (signer or user.key).sign(canonical(message)).signature.hex()
    return {
        "amount": amount,
        "payee": payee,
        "order_id": order_id,
        "memo": memo,
        "signed_at": when,
        "signature": signature,
    }


def spend(client: httpx.Client, user: SignedIn, body: dict[str, Any]) -> httpx.Response:
    return client.post("/api/wallet/spends", json=body, headers=user.auth)


def receipt_verifies(spend: dict[str, Any], public_key: str) -> bool:
    """The payee's check: the ledger's public key over the canonical JSON of `receipt.signed`, nothing else."""
    receipt = spend["receipt"]
    try:
        VerifyKey(bytes.fromhex(public_key)).verify(canonical(receipt["signed"]), bytes.fromhex(receipt["signature"]))
    except Exception:
        return False
    return True
