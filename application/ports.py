"""Ports: what the application needs from the world, as narrow protocols."""

from __future__ import annotations

from collections.abc import Generator, Hashable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.gateways import Checkout, CheckoutRequest, GatewayEvent, GatewayOffer
from application.views import PaymentView


class Clock(Protocol):
    def now(self) -> datetime:
        """The current UTC time."""


class Identifiers(Protocol):
    def payment_id(self) -> UUID:
        """A new payment id."""

    def reference(self) -> str:
        """A new payment reference: uppercase letters and digits."""


class PaymentGateway(Protocol):
    """A payment gateway: opens checkouts, reads its webhooks, answers status questions."""

    @property
    def offer(self) -> GatewayOffer: ...

    def initiate_checkout(self, request: CheckoutRequest) -> Checkout:
        """Open a checkout; raises GatewayUnavailable or GatewayRefused."""

    def resume_checkout(self, request: CheckoutRequest) -> Checkout:
        """The checkout an interrupted open made for the request, or a new one; raises GatewayError if neither."""

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify and read a webhook delivery; raises WebhookRejected."""

    def fetch_status(self, payment: PaymentView) -> GatewayEvent | None:
        """Ask the gateway what became of a payment (None: nothing to report)."""


@runtime_checkable
class ReversalSource(Protocol):
    """A gateway that can be asked about refunds and disputes after the fact (Stripe)."""

    def fetch_reversals(self, payment: PaymentView) -> list[GatewayEvent]:
        """Refunds and disputes of a credited payment, as their webhooks would have said them."""


class WebhookSimulator(Protocol):
    """Builds the signed webhook a gateway would send for a payment (demo mode)."""

    def simulate(self, payment: PaymentView, outcome: str) -> tuple[bytes, dict[str, str]]: ...


class WebhookVerifier(Protocol):
    """Verifies and reads one gateway's webhook format."""

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent: ...


class PaymentQueries(Protocol):
    """What the reconciler asks the read model (caught up first), lists that would otherwise need one aggregate
    load per row; HTTP reads go through `PaymentReader` instead."""

    def pending_since(self, cutoff: datetime) -> list[PaymentView]:
        """Payments still pending that were created before `cutoff`, oldest first."""

    def credited_since(self, gateway: str, cutoff: datetime) -> list[PaymentView]:
        """Payments of `gateway` that credited their wallet through a gateway object, created at or after
        `cutoff`, oldest first (refunds and disputes may still come for them)."""


class SignatureVerifier(Protocol):
    def verify(self, public_key_hex: str, message: bytes, signature_hex: str) -> bool:
        """True when the signature over message is valid for the key."""


class LedgerSigner(Protocol):
    """The service's ledger key: signs export and checkpoint head hashes."""

    @property
    def public_key(self) -> str:
        """The ed25519 public key, 64 lowercase hex digits."""

    def sign(self, message: bytes) -> str:
        """The ed25519 signature over message, 128 lowercase hex digits."""


class Tokens(Protocol):
    def issue(self, claims: Mapping[str, Any]) -> str:
        """A signed token carrying the claims."""

    def read(self, token: str) -> dict[str, Any]:
        """The claims of a token we signed; raises Unauthenticated otherwise."""


class Metrics(Protocol):
    """What operators count: gateway names and outcomes only, never user ids, payment ids or secrets."""

    def webhook_checked(self, gateway: str, verified: bool) -> None:
        """A webhook delivery passed (or failed) its gateway's signature check."""

    def payment_confirmed(self, gateway: str) -> None:
        """A payment was confirmed (by webhook, reconciliation or admins)."""

    def credits_topped_up(self, gateway: str, amount: Decimal) -> None:
        """A wallet was credited `amount` MC for a payment through `gateway`."""

    def credits_reversed(self, gateway: str, reason: str, amount: Decimal) -> None:
        """`amount` MC were taken back from a wallet (reason: refunded or disputed)."""

    def reconciliation_ran(self, result: str, outcomes: Mapping[str, int]) -> None:
        """A reconciliation run ended (ok, gateway_errors or failed); outcomes counts payments by outcome."""

    def projection_lag(self, projection: str, events: int) -> None:
        """How many events of the log the projection has yet to apply."""

    def webhook_delivered(self, gateway: str, result: str) -> None:
        """A webhook delivery was answered: confirmed, duplicate, unmatched, needs_review, ... or rejected."""

    def gateway_called(self, gateway: str, operation: str, outcome: str, seconds: float) -> None:
        """A call to a gateway's API (operation: checkout or status) ended ok, unavailable, refused or error."""

    def clickpesa_api_called(self, call: str) -> None:
        """One request to ClickPesa's API (token, checkout or status): each counts against its daily quota."""

    def payments_awaiting_admin(self, counts: Mapping[str, int]) -> None:
        """How many payments wait for an admin now, by status (pending bank transfers, needs_review)."""

    def credits_spent(self, amount: Decimal) -> None:
        """A spend of `amount` MC was recorded (counted after its commit)."""

    def writer_group(self, size: int, outcome: str, conflicts: int) -> None:
        """The writer answered a group of `size` changes: `committed` together, `exclusive` (together, as the only
        writer) or `one_at_a_time`; `conflicts`: its tries dropped because another process saved first."""

    def writer_reads(self, cached: int, loaded: int) -> None:
        """A committed group's aggregates: `cached` taken from the writer's cache, `loaded` read from the store."""

    def writer_times(self, waited: float, read: float, decided: float, saved: float) -> None:
        """A committed group's seconds: its first change waiting for the group to begin (queued behind the group
        before it, then lingering for more), its reads, its decisions and its save (the append and its commit)."""


class WalletMove(NamedTuple):
    """What replay reads of an event that moves MC, or names whose account a payment's MC come from:
    `user_id` of a WalletOpened, `amount` of the moves, `payment_id` of the moves a payment causes (and of the
    PaymentInitiated), `gateway` of the PaymentInitiated and of the moves that name it (ADR 65), `payee` of a
    spend (else None)."""

    position: int  # in the notification log
    topic: str
    wallet: Hashable  # the wallet's id as the store holds it: the same value for every event of one wallet
    user_id: str | None
    amount: Decimal | None
    timestamp: str  # ISO 8601, as recorded
    payment_id: str | None = None  # 32 lowercase hex digits
    gateway: str | None = None
    payee: str | None = None


@runtime_checkable
class WalletMoves(Protocol):
    """An event store that reads replay's few fields of the wallet events straight from its rows."""

    def wallet_moves(self, topics: Sequence[str], stop: int | None = None) -> Generator[WalletMove]:
        """The events of `topics`, in log order (up to position `stop` when given)."""


class Current(NamedTuple):
    """What one read of many aggregates answers: each recorded one's current version and, for those not kept at
    that version, its latest snapshot and its events after it (by version)."""

    versions: dict[UUID, int]
    snapshots: list[StoredEvent]
    events: list[StoredEvent]


@runtime_checkable
class ExclusiveWrites(Protocol):
    """An event store whose writer can, for a while, be the only one (ADR 55)."""

    def exclusively(self) -> AbstractContextManager[None]:
        """This thread's reads and appends in one transaction during which no other writer appends."""

    def on_one_connection(self) -> AbstractContextManager[None]:
        """This thread's reads and appends on one connection (each still its own transaction), or on the
        exclusive transaction's when one is under way."""


@runtime_checkable
class BatchedLoads(Protocol):
    """An event store that reads many aggregates in one query (ADR 45, ADR 54)."""

    def select_current(self, ids: Sequence[UUID], kept: Mapping[UUID, int], snapshots_table: str) -> Current:
        """The current versions of `ids` (ids without events left out) and, in the same query, the latest snapshot
        in `snapshots_table` and later events of each one not `kept` at its current version."""

    def select_histories(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every event of these aggregates, by aggregate and version."""
