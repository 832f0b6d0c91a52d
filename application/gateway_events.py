"""Deciding what a verified gateway event does: which payment it names, what it moves, what it links or holds.

Every decision reads and stages through a unit of work, so that several events decided against one unit of
work see each other's changes and are saved together (ADR 32).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from application.errors import ConcurrentChange
from application.gateways import GatewayEvent
from application.metrics import NoMetrics
from application.ports import Metrics
from application.settlement import Settlement, settle
from application.statements import event_of, statement_of
from application.unit_of_work import UnitOfWork
from domain.indexes import GatewayObject, PaymentReference, UnmatchedGatewayEvent
from domain.payment import Payment
from domain.wallet import Move, Wallet


class GatewayEvents:
    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics or NoMetrics()

    def preload(self, work: UnitOfWork, events: Sequence[GatewayEvent]) -> None:
        """What a group's decisions will read, read together: the claims and links the events name with the
        payments and wallets the gateway says they are for, then any other payment the claims and links name, then
        those payments' wallets not read yet (one query when the gateway names the payment and its wallet, three at
        most, whatever the group's size). The gateway's word only chooses what is read early: the decisions still
        find each payment by its claim or link, and its wallet by its owner."""
        ours = [event for event in events if event.foreign is None]
        claims = [PaymentReference.create_id(e.reference) for e in ours if e.reference is not None]
        links = [GatewayObject.create_id(e.gateway, e.gateway_object) for e in ours if e.gateway_object]
        hinted = (_uuid(hint) for e in ours for hint in (e.payment_id, e.wallet_id))
        work.preload([*claims, *links, *filter(None, hinted)])
        named = [c.payment_id for c in work.seen(PaymentReference, claims)]
        named += [link.payment_id for link in work.seen(GatewayObject, links) if link.payment_id is not None]
        work.preload(named)
        work.preload(Wallet.create_id(payment.user_id) for payment in work.seen(Payment, named))

    def decide(self, work: UnitOfWork, event: GatewayEvent) -> str:
        """Apply the event to what it names, staging every change in `work`; answers what happened."""
        if event.foreign is not None:
            return self._record_unmatched(work, event)
        if event.reference is None and event.gateway_object is None:
            return "ignored"
        payment = _payment_named_by(work, event)
        if payment is None and event.takes_back:
            return self._hold_until_its_payment(work, event)
        if payment is None or payment.gateway != event.gateway:
            return self._record_unmatched(work, event)
        settled = [settle(payment, event)]
        link = _link(work, payment, event, settled[0].outcome)
        if link is not None and link.held and link.payment_id is None:
            settled += [settle(payment, event_of(held)) for held in link.link(payment.id)]
        work.stage_payment(payment)  # its wallet moves are taken once, at the save (ADR 32)
        work.stage(link)
        work.after_save(lambda: self._count(payment.gateway, settled))
        return settled[0].outcome

    def _count(self, gateway: str, settled: list[Settlement]) -> None:
        """Metrics for what was saved."""
        for settlement in settled:
            if not settlement.moves_credits:
                continue
            if settlement.move is Move.TOP_UP:
                self._metrics.payment_confirmed(gateway)
                self._metrics.credits_topped_up(gateway, settlement.credits)
            elif settlement.move is Move.REVERSE:
                self._metrics.credits_reversed(gateway, settlement.outcome, settlement.credits)

    def _hold_until_its_payment(self, work: UnitOfWork, event: GatewayEvent) -> str:
        """A refund or dispute of a charge whose payment is not confirmed yet: kept on the charge's gateway object,
        applied by the confirmation that links it (the object's one stream orders the two)."""
        if not event.gateway_object:
            return self._record_unmatched(work, event)
        found = work.gateway_object(event.gateway, event.gateway_object)
        if found is not None and found.is_linked:
            # A confirmation linked it after we looked for its payment: read again, and apply it there.
            raise ConcurrentChange(f"{event.gateway_object} was linked to a payment concurrently")
        held = found or GatewayObject.seen(event.gateway, event.gateway_object)
        if event.key in held.held_keys:
            return "duplicate"
        held.hold(event.key, statement_of(event))
        work.stage(held)
        return "held"

    def _record_unmatched(self, work: UnitOfWork, event: GatewayEvent) -> str:
        if work.unmatched(event.gateway, event.key) is None:  # else: the same unmatched event again
            evidence = dict(event.evidence) if event.foreign is None else {**event.evidence, "not_ours": event.foreign}
            reference = event.reference or ""
            work.stage(
                UnmatchedGatewayEvent(gateway=event.gateway, key=event.key, reference=reference, evidence=evidence)
            )
        return "unmatched"


def _payment_named_by(work: UnitOfWork, event: GatewayEvent) -> Payment | None:
    """By reference; refunds and disputes carry none, only the gateway object linked at confirmation."""
    if event.reference is not None:
        return work.payment_by_reference(event.reference)
    return work.payment_by_gateway_object(event.gateway, event.gateway_object or "")


def _link(work: UnitOfWork, payment: Payment, event: GatewayEvent, outcome: str) -> GatewayObject | None:
    """Saved with the confirmation (or the review flag) so that later refunds and disputes find the payment; one
    that was seen before (news held for the payment) is linked now and hands its news over."""
    if outcome not in ("confirmed", "needs_review") or not event.gateway_object:
        return None
    found = work.gateway_object(event.gateway, event.gateway_object)
    if found is None:
        return GatewayObject(gateway=event.gateway, object_id=event.gateway_object, payment_id=payment.id)
    return found if not found.is_linked else None


def _uuid(text: str | None) -> UUID | None:
    """A payment id as the gateway reported it (None: none, or not a UUID)."""
    if not text:
        return None
    try:
        return UUID(text)
    except ValueError:
        return None
