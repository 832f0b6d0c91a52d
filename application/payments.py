"""Payment use cases: initiate a top-up, apply what a gateway reports, read payments."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from application.amounts import stated_amount
from application.checkouts import Checkouts, CheckoutTiming
from application.errors import ConcurrentChange, IdempotencyConflict, Invalid, NotFound, WebhookRejected
from application.gateway_events import GatewayEvents
from application.gateways import GatewayEvent, GatewayOffer
from application.ledger import Ledger, retry_on_conflict
from application.metrics import NoMetrics
from application.ports import Clock, Identifiers, Metrics, PaymentGateway
from application.views import PaymentView
from application.writer import GroupWriter
from domain.indexes import IdempotencyRecord, PaymentReference
from domain.money import Money
from domain.payment import Payment


@dataclass(frozen=True)
class TopUpOrder:
    amount: Decimal | str | int
    currency: str
    gateway: str
    email: str | None = None


@dataclass(frozen=True)
class Initiated:
    payment: PaymentView
    replayed: bool  # True when an Idempotency-Key returned an earlier payment


class PaymentService:
    def __init__(
        self,
        ledger: Ledger,
        gateways: Mapping[str, PaymentGateway],
        rates: Mapping[str, Decimal],
        ids: Identifiers,
        *,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
        timing: CheckoutTiming | None = None,
        writer: GroupWriter | None = None,
    ) -> None:
        self._ledger = ledger
        self._gateways = gateways
        self._rates = rates
        self._ids = ids
        self._metrics = metrics or NoMetrics()
        # One writer per process, shared with spending (built in bootstrap); on its own, one for gateway events.
        events = GatewayEvents(self._metrics)
        self._writer = writer or GroupWriter(ledger, events.decide, prepare=events.preload, metrics=self._metrics)
        self._checkouts = Checkouts(ledger, gateways, self.apply, clock, timing)

    def offers(self) -> list[GatewayOffer]:
        return [gateway.offer for gateway in self._gateways.values()]

    def initiate(self, user_id: str, order: TopUpOrder, idempotency_key: str | None = None) -> Initiated:
        """Record a new payment and open its checkout at the gateway."""
        gateway = self._gateway(order.gateway)
        price = stated_amount("amount", order.amount, order.currency)
        self._check_offered(gateway.offer, price)
        fingerprint = _fingerprint(order, price)
        if idempotency_key is not None:
            earlier = self._replay(user_id, idempotency_key, fingerprint, order.email)
            if earlier is not None:
                return Initiated(earlier, replayed=True)
        try:
            payment = self._record_new(user_id, gateway.offer.name, price, idempotency_key, fingerprint)
        except ConcurrentChange:
            # Without a key, reference collisions were retried; what still collides is the key's record.
            if idempotency_key is None:
                raise
            again = self._replay(user_id, idempotency_key, fingerprint, order.email)
            if again is None:
                raise
            return Initiated(again, replayed=True)
        return Initiated(self._checkouts.open(gateway, payment, order.email), replayed=False)

    def finish_checkout(self, payment_id: UUID) -> str:
        """Reconciliation: finish a checkout whose open was abandoned (one still under way is left alone)."""
        return self._checkouts.finish_abandoned(payment_id)

    def payment_of(self, user_id: str, payment_id: UUID) -> PaymentView:
        """A payment, if it is this user's (another user's payment is simply not found)."""
        payment = self._ledger.payment(payment_id)
        if payment.user_id != user_id:
            raise NotFound(f"no payment {payment_id}")
        return PaymentView.of(payment)

    def payment(self, payment_id: UUID) -> PaymentView:
        return PaymentView.of(self._ledger.payment(payment_id))

    def receive_webhook(self, gateway_name: str, body: bytes, headers: Mapping[str, str]) -> str:
        """Verify a delivery with its gateway, then apply it; answers what happened."""
        return self.apply(self.verified(gateway_name, body, headers))

    def verified(self, gateway_name: str, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """A delivery verified and read by its gateway (cheap: no I/O); raises WebhookRejected."""
        gateway = self._gateways.get(gateway_name)
        try:
            if gateway is None:
                raise WebhookRejected(f"{gateway_name} webhooks are not accepted: the gateway is not configured")
            event = gateway.parse_webhook(body, headers)
        except WebhookRejected:
            self._metrics.webhook_checked(gateway_name, verified=False)
            raise
        self._metrics.webhook_checked(gateway_name, verified=True)
        return event

    def apply(self, event: GatewayEvent) -> str:
        """Move the payment the event names; exactly once, however often and in whatever order it is delivered."""
        outcome: str = self._writer.apply(event)
        return outcome

    def submitted(self, event: GatewayEvent) -> asyncio.Future[str]:
        """As `apply`, answered on the running event loop."""
        return self._writer.submitted(event)

    def close(self) -> None:
        self._writer.close()

    def _gateway(self, name: str) -> PaymentGateway:
        gateway = self._gateways.get(name)
        if gateway is None:
            offered = ", ".join(self._gateways) or "none"
            raise Invalid(f"gateway {name!r} is not offered (offered: {offered})")
        return gateway

    def _check_offered(self, offer: GatewayOffer, price: Money) -> None:
        if price.currency not in offer.currencies or price.currency not in self._rates:
            raise Invalid(f"{offer.name} does not accept {price.currency} (accepted: {', '.join(offer.currencies)})")
        minimum = offer.min_amounts.get(price.currency)
        if minimum is not None and price.amount < minimum:
            raise Invalid(f"the minimum for {offer.name} is {minimum} {price.currency}")
        maximum = offer.max_amounts.get(price.currency)
        if maximum is not None and price.amount > maximum:
            raise Invalid(f"the maximum for {offer.name} is {maximum} {price.currency}")

    def _replay(self, user_id: str, key: str, fingerprint: str, email: str | None) -> PaymentView | None:
        record = self._ledger.idempotency_record(user_id, key)
        if record is None:
            return None
        if record.fingerprint != fingerprint:
            raise IdempotencyConflict("this Idempotency-Key was already used with a different request")
        return self._checkouts.usable(record.payment_id, email)

    def _record_new(self, user_id: str, gateway: str, price: Money, key: str | None, fingerprint: str) -> Payment:
        def attempt() -> Payment:
            payment = Payment.initiate(
                self._ids.payment_id(), user_id, gateway, self._ids.reference(), price, self._rates[price.currency]
            )
            claim = PaymentReference(reference=payment.reference, payment_id=payment.id)
            record = None
            if key is not None:
                record = IdempotencyRecord(user_id=user_id, key=key, fingerprint=fingerprint, payment_id=payment.id)
            self._ledger.commit(payment, claim, record)
            return payment

        if key is None:
            return retry_on_conflict(attempt)
        return attempt()


def _fingerprint(order: TopUpOrder, price: Money) -> str:
    canonical = "\n".join([order.gateway, str(price.amount), price.currency, order.email or ""])
    return hashlib.sha256(canonical.encode()).hexdigest()
