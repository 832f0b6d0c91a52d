"""Small fakes of the application's ports, for unit tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from application.errors import ApplicationError, WebhookRejected
from application.gateways import Checkout, CheckoutRequest, GatewayEvent, GatewayOffer
from application.views import PaymentView


class FakeClock:
    def __init__(self, start: datetime = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta) -> None:
        self.moment += delta


class FakeIdentifiers:
    """Predictable ids: payment N has UUID N and reference MCTEST000N."""

    def __init__(self) -> None:
        self.issued: list[UUID] = []
        self._count = 0

    def payment_id(self) -> UUID:
        self._count += 1
        payment_id = UUID(int=self._count)
        self.issued.append(payment_id)
        return payment_id

    def reference(self) -> str:
        return f"MCTEST{self._count:04d}"


CARD_OFFER = GatewayOffer(
    name="stripe",
    currencies=("USD", "EUR", "TZS"),
    min_amounts={"USD": Decimal("0.50"), "EUR": Decimal("0.47"), "TZS": Decimal("1351.36")},
    demo=True,
)


@dataclass
class FakeGateway:
    """Opens checkouts in memory; fails with `error` when one is set."""

    gateway_offer: GatewayOffer = CARD_OFFER
    error: ApplicationError | None = None
    requests: list[CheckoutRequest] = field(default_factory=list)

    @property
    def offer(self) -> GatewayOffer:
        return self.gateway_offer

    def initiate_checkout(self, request: CheckoutRequest) -> Checkout:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return Checkout(f"https://fakepay.test/pay/{request.reference}", f"chk_{request.reference}")

    def resume_checkout(self, request: CheckoutRequest) -> Checkout:
        return self.initiate_checkout(request)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        raise WebhookRejected("the fake gateway sends no webhooks")

    def fetch_status(self, payment: PaymentView) -> GatewayEvent | None:
        return None


@dataclass
class RecordedMetrics:
    """The Metrics port, writing down each call."""

    calls: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    writer_calls: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)  # how the writer worked

    def webhook_checked(self, gateway: str, verified: bool) -> None:
        self.calls.append(("webhook_checked", (gateway, verified)))

    def payment_confirmed(self, gateway: str) -> None:
        self.calls.append(("payment_confirmed", (gateway,)))

    def credits_topped_up(self, gateway: str, amount: Decimal) -> None:
        self.calls.append(("credits_topped_up", (gateway, amount)))

    def credits_reversed(self, gateway: str, reason: str, amount: Decimal) -> None:
        self.calls.append(("credits_reversed", (gateway, reason, amount)))

    def credits_spent(self, amount: Decimal) -> None:
        self.calls.append(("credits_spent", (amount,)))

    def reconciliation_ran(self, result: str, outcomes: Mapping[str, int]) -> None:
        self.calls.append(("reconciliation_ran", (result, dict(outcomes))))

    def projection_lag(self, projection: str, events: int) -> None:
        self.calls.append(("projection_lag", (projection, events)))

    def webhook_delivered(self, gateway: str, result: str) -> None:
        self.calls.append(("webhook_delivered", (gateway, result)))

    def gateway_called(self, gateway: str, operation: str, outcome: str, seconds: float) -> None:
        self.calls.append(("gateway_called", (gateway, operation, outcome)))

    def clickpesa_api_called(self, call: str) -> None:
        self.calls.append(("clickpesa_api_called", (call,)))

    def payments_awaiting_admin(self, counts: Mapping[str, int]) -> None:
        self.calls.append(("payments_awaiting_admin", (dict(counts),)))

    def writer_group(self, size: int, outcome: str, conflicts: int) -> None:
        self.writer_calls.append(("writer_group", (size, outcome, conflicts)))

    def writer_reads(self, cached: int, loaded: int) -> None:
        self.writer_calls.append(("writer_reads", (cached, loaded)))

    def writer_times(self, waited: float, read: float, decided: float, saved: float) -> None:
        self.writer_calls.append(("writer_times", (waited, read, decided, saved)))
