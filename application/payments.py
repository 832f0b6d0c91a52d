"""Payment use cases: initiate a top-up, apply what a gateway reports, read payments."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.amounts import stated_amount
from application.checkouts import Checkouts, CheckoutTiming
from application.credits import CreditService
from application.errors import IdempotencyConflict, Invalid, NotFound, WebhookRejected
from application.gateways import GatewayEvent, GatewayOffer
from application.ledger import Ledger, retry_on_conflict
from application.metrics import NoMetrics
from application.ports import Clock, Identifiers, Metrics, PaymentGateway, PaymentQueries
from application.settlement import Settlement, settle
from application.statements import event_of, statement_of
from application.views import PaymentView, WalletView
from domain.indexes import GatewayObject, IdempotencyRecord, PaymentReference, UnmatchedGatewayEvent
from domain.money import Money
from domain.payment import Payment
from domain.wallet import Move


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
        queries: PaymentQueries,
        *,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
        timing: CheckoutTiming | None = None,
    ) -> None:
        self._ledger = ledger
        self._gateways = gateways
        self._rates = rates
        self._ids = ids
        self._queries = queries
        self._credits = CreditService(ledger)
        self._metrics = metrics or NoMetrics()
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
        except IntegrityError:
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

    def payments_of(self, user_id: str) -> list[PaymentView]:
        return self._queries.payments_of(user_id)

    def wallet_of(self, user_id: str) -> WalletView:
        """Balance and movements, newest first, as the read model holds them."""
        return self._queries.wallet_of(user_id)

    def receive_webhook(self, gateway_name: str, body: bytes, headers: Mapping[str, str]) -> str:
        """Verify a delivery with its gateway, then apply it; answers what happened."""
        gateway = self._gateways.get(gateway_name)
        try:
            if gateway is None:
                raise WebhookRejected(f"{gateway_name} webhooks are not accepted: the gateway is not configured")
            event = gateway.parse_webhook(body, headers)
        except WebhookRejected:
            self._metrics.webhook_checked(gateway_name, verified=False)
            raise
        self._metrics.webhook_checked(gateway_name, verified=True)
        return self.apply(event)

    def apply(self, event: GatewayEvent) -> str:
        """Move the payment the event names; exactly once, however often and in whatever order it is delivered."""
        if event.foreign is not None:
            return self._record_unmatched(event)
        if event.reference is None and event.gateway_object is None:
            return "ignored"
        return retry_on_conflict(lambda: self._apply_once(event))

    def _apply_once(self, event: GatewayEvent) -> str:
        payment = self._payment_named_by(event)
        if payment is None and event.takes_back:
            return self._hold_until_its_payment(event)
        if payment is None or payment.gateway != event.gateway:
            return self._record_unmatched(event)
        settled = [settle(payment, event)]
        link = self._link(payment, event, settled[0].outcome)
        if link is not None and link.held and link.payment_id is None:
            settled += [settle(payment, event_of(held)) for held in link.link(payment.id)]
        wallet = self._credits.move(payment)
        self._ledger.commit(payment, wallet, link)
        for settlement in settled:
            self._count(payment, settlement)
        return settled[0].outcome

    def _count(self, payment: Payment, settlement: Settlement) -> None:
        """Metrics for what was just saved."""
        if not settlement.moves_credits:
            return
        if settlement.move is Move.TOP_UP:
            self._metrics.payment_confirmed(payment.gateway)
            self._metrics.credits_topped_up(payment.gateway, settlement.credits)
        elif settlement.move is Move.REVERSE:
            self._metrics.credits_reversed(payment.gateway, settlement.outcome, settlement.credits)

    def _payment_named_by(self, event: GatewayEvent) -> Payment | None:
        """By reference; refunds and disputes carry none, only the gateway object linked at confirmation."""
        if event.reference is not None:
            return self._ledger.payment_by_reference(event.reference)
        return self._ledger.payment_by_gateway_object(event.gateway, event.gateway_object or "")

    def _link(self, payment: Payment, event: GatewayEvent, outcome: str) -> GatewayObject | None:
        """Saved with the confirmation (or the review flag) so that later refunds and disputes find the payment;
        one that was seen before (news held for the payment) is linked now and hands its news over."""
        if outcome not in ("confirmed", "needs_review") or not event.gateway_object:
            return None
        found = self._ledger.gateway_object(event.gateway, event.gateway_object)
        if found is None:
            return GatewayObject(gateway=event.gateway, object_id=event.gateway_object, payment_id=payment.id)
        return found if not found.is_linked else None

    def _hold_until_its_payment(self, event: GatewayEvent) -> str:
        """A refund or dispute of a charge whose payment is not confirmed yet: kept on the charge's gateway object,
        applied by the confirmation that links it (the object's one stream orders the two)."""
        if not event.gateway_object:
            return self._record_unmatched(event)
        found = self._ledger.gateway_object(event.gateway, event.gateway_object)
        if found is not None and found.is_linked:
            # A confirmation linked it after we looked for its payment: read again, and apply it there.
            raise IntegrityError(f"{event.gateway_object} was linked to a payment concurrently")
        held = found or GatewayObject.seen(event.gateway, event.gateway_object)
        if event.key in held.held_keys:
            return "duplicate"
        held.hold(event.key, statement_of(event))
        self._ledger.commit(held)
        return "held"

    def _record_unmatched(self, event: GatewayEvent) -> str:
        evidence = dict(event.evidence) if event.foreign is None else {**event.evidence, "not_ours": event.foreign}
        record = UnmatchedGatewayEvent(
            gateway=event.gateway, key=event.key, reference=event.reference or "", evidence=evidence
        )
        with contextlib.suppress(IntegrityError):  # the same unmatched event again: already recorded
            self._ledger.commit(record)
        return "unmatched"

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
