"""/api/audit: the auditor's ledger (role `auditor` on every route)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.params import Parameter
from litestar.response import Stream

from entrypoints.http.auth import requires
from entrypoints.http.dependencies import ServicesDep
from entrypoints.http.times import query_time, time_parameter

NDJSON = "application/x-ndjson"
LINES_PER_CHUNK = 500

LEDGER_LINE = """\
One JSON object per line (NDJSON), one line per event, in notification order:
`{"position", "stream_id", "stream_type", "version", "type", "timestamp", "data", "prev_hash", "hash"}`.

- `position`: the event's position in the store's notification log (increasing, gaps possible).
- `stream_id`: the aggregate's UUID; `stream_type`: its class (`Payment`, `Wallet`, `PaymentReference`,
  `GatewayObject`, `IdempotencyRecord`, `UnmatchedGatewayEvent`, `LedgerCheckpoint`, ...); `version`: the
  event's version in that stream (1, 2, 3, ... with no gaps).
- `type`: the event class (`PaymentInitiated`, `PaymentConfirmed`, `PaymentRefunded`, `PaymentDisputed`,
  `WalletOpened`, `CreditsToppedUp`, `CreditsReversed`, `CreditsReinstated`, `CreditsSpent`,
  `LedgerCheckpointRecorded`, ...). A `CreditsSpent` carries the spend (`spend_id`, `payee`, `order_id`, `amount`,
  `memo`, `signed_at`, `balance_after`), the `message` its owner signed (the canonical JSON of the spend order) and
  their ed25519 `signature` of it: anyone checks it against the wallet owner's `user_id` (their public key).
  A `CreditsToppedUp`, `CreditsReversed` or `CreditsReinstated` carries `payment_id`, `amount`, `balance_after`
  (a reversal and a reinstatement also their `reason`) and `gateway`, its payment's (whose account the credits
  come from or go back to); one recorded before moves named it has no `gateway`, and the payment's
  `PaymentInitiated` names it.
- `timestamp`: when the event was recorded, RFC 3339 UTC with microseconds (`2026-03-01T12:00:00.000000Z`).
- `data`: the event's own attributes, none of the fields above repeated: amounts and rates as plain decimal
  strings (`"25.00"`), UUIDs as strings, times RFC 3339 UTC, maps as objects, sets as sorted arrays.
- `hash`: lowercase hex SHA-256 of the bytes of `prev_hash` followed by the canonical JSON (keys sorted at every
  level, separators `,` and `:`, UTF-8 unescaped) of the line without `hash`. The first line's `prev_hash` is
  64 zeros; each next line's is the hash of the line before. Lines are sent in that canonical form.
"""
PAGE = """
A page's first `prev_hash` is the chain hash at position `after`, computed from the start of the ledger, so a
page's lines are byte for byte the export's lines. The signed export is the source of truth.
"""
EXPORT = """
After the last line comes `{"type": "ExportSignature", "count", "head_hash", "public_key", "signature"}`:
`count` lines were exported, `head_hash` is the last line's hash (64 zeros when there are none), `signature` the
ed25519 signature (hex) of the UTF-8 bytes of `head_hash` by the service's LEDGER_SIGNING_KEY. Verify it offline
with `mcpay ledger verify FILE --public-key HEX`. 503 when no signing key is configured.
"""


class AuditBalances(msgspec.Struct):
    """Every account in MC, in double entry (they add up to zero): `balances` by wallet owner's user_id (below
    zero: a debt), `payees` by payee, `gateways` by gateway (below zero by what was bought through it and not
    refunded or disputed)."""

    as_of: datetime
    balances: dict[str, str]
    payees: dict[str, str]
    gateways: dict[str, str]


AfterPosition = Annotated[int, Parameter(ge=0, description="Lines after this position (0: from the start).")]
PageLimit = Annotated[int, Parameter(ge=1, le=10_000, description="At most this many lines (1 to 10000).")]
AsOf = Annotated[str | None, time_parameter("RFC 3339 time, with its offset (e.g. 2026-03-01T12:00:00Z); default now.")]


class AuditController(Controller):
    path = "/api/audit"
    tags = ("audit",)
    guards = (requires("auditor"),)

    @get(
        "/ledger",
        operation_id="readLedgerPage",
        sync_to_thread=True,
        media_type=NDJSON,
        description=LEDGER_LINE + PAGE,
        response_description="Ledger lines, one JSON object per line",
    )
    def ledger(self, services: ServicesDep, after: AfterPosition = 0, limit: PageLimit = 1000) -> Stream:
        """A page of ledger lines, hash-chained."""
        return Stream(_chunks(services.audit.page(after, limit)), media_type=NDJSON)

    @get(
        "/export",
        operation_id="exportLedger",
        sync_to_thread=True,
        media_type=NDJSON,
        description=LEDGER_LINE + EXPORT,
        response_description="Every ledger line, then the ExportSignature line",
    )
    def export(self, services: ServicesDep) -> Stream:
        """The whole ledger, hash-chained and signed."""
        return Stream(_chunks(services.audit.export()), media_type=NDJSON)

    @get("/balances", sync_to_thread=True, operation_id="balancesAsOf")
    def balances(self, services: ServicesDep, as_of: AsOf = None) -> AuditBalances:
        """Every account in MC (wallets, payees, gateways), rebuilt by replaying the events up to `as_of`."""
        rebuilt = services.audit.balances(query_time("as_of", as_of))
        return AuditBalances(rebuilt.as_of, _texts(rebuilt.balances), _texts(rebuilt.payees), _texts(rebuilt.gateways))


def _texts(balances: Mapping[str, Decimal]) -> dict[str, str]:
    return {name: str(balance) for name, balance in balances.items()}


def _chunks(lines: Iterable[str]) -> Iterator[bytes]:
    """Several lines per chunk: the stream's generator runs in a worker thread, one hop per chunk."""
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == LINES_PER_CHUNK:
            yield "".join(chunk).encode()
            chunk.clear()
    if chunk:
        yield "".join(chunk).encode()
