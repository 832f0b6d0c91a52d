"""Checkouts are never half-made: replays wait for an open under way, and an abandoned open is finished."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from application.errors import CheckoutInProgress, GatewayError
from application.gateways import Checkout, CheckoutRequest, GatewayEvent
from application.ledger import Ledger, retry_on_conflict
from application.ports import Clock, PaymentGateway
from application.views import PaymentView
from domain.payment import Payment
from domain.wallet import Wallet


@dataclass(frozen=True)
class CheckoutTiming:
    # Longer than any gateway takes to open a checkout, its retries included (Stripe: about 80 s at the most),
    # so that an open older than this is one whose process died, never one still under way.
    abandoned_after: timedelta = timedelta(seconds=120)
    replay_wait: timedelta = timedelta(seconds=5)  # how long a replay waits for the first request's checkout
    poll_seconds: float = 0.2  # how often a replay looks again (an open in another process sends no signal)
    longest_retry_after: int = 5


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Checkouts:
    """Opens a payment's checkout at its gateway; answers replays only with a usable payment; finishes the
    checkouts that a process left half-made when it died (recovered from the gateway, or the payment failed)."""

    def __init__(
        self,
        ledger: Ledger,
        gateways: Mapping[str, PaymentGateway],
        apply: Callable[[GatewayEvent], str],
        clock: Clock | None = None,
        timing: CheckoutTiming | None = None,
    ) -> None:
        self._ledger = ledger
        self._gateways = gateways
        self._apply = apply
        self._clock = clock or WallClock()
        self._timing = timing or CheckoutTiming()
        self._openings = Openings()

    def open(self, gateway: PaymentGateway, payment: Payment, email: str | None) -> PaymentView:
        """The first request's open; a gateway error fails the payment and is raised on."""
        with self._openings.opening(payment.id):
            try:
                checkout = gateway.initiate_checkout(_checkout_request(payment, email))
            except GatewayError as error:
                self._fail(payment.id, f"checkout could not be opened: {error}")
                raise
            return self._record(payment.id, checkout)

    def usable(self, payment_id: UUID, email: str | None) -> PaymentView:
        """What a replay answers: the payment once its checkout is open (or it failed), never one without a URL."""
        deadline = time.monotonic() + self._timing.replay_wait.total_seconds()
        while True:
            payment = self._ledger.payment(payment_id)
            if not half_made(payment):
                return PaymentView.of(payment)
            if self._abandoned(payment):
                return self._finish(payment, email)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CheckoutInProgress(
                    "the first request with this Idempotency-Key is still opening the checkout; send it again",
                    retry_after=self._retry_after(payment),
                )
            self._openings.wait(payment_id, min(self._timing.poll_seconds, remaining))

    def finish_abandoned(self, payment_id: UUID) -> str:
        """For reconciliation: finish the checkout if its open was abandoned (one under way is left alone)."""
        payment = self._ledger.payment(payment_id)
        if not half_made(payment):
            return "no-news"
        if not self._abandoned(payment):
            return "opening"
        finished = self._finish(payment, email=None)
        return "checkout-recovered" if finished.status == "pending" else finished.status

    def _abandoned(self, payment: Payment) -> bool:
        """Its open is not under way here, and older than any open takes: the process opening it died."""
        if self._openings.under_way(payment.id):
            return False
        return self._clock.now() - payment.created_on >= self._timing.abandoned_after

    def _retry_after(self, payment: Payment) -> int:
        until_abandoned = payment.created_on + self._timing.abandoned_after - self._clock.now()
        return max(1, min(self._timing.longest_retry_after, math.ceil(until_abandoned.total_seconds())))

    def _finish(self, payment: Payment, email: str | None) -> PaymentView:
        """Recover the checkout the abandoned open made (or make it now); failing that, fail the payment."""
        gateway = self._gateways.get(payment.gateway)
        if gateway is None:
            return self._give_up(payment.id, None, f"{payment.gateway} is no longer offered")
        try:
            checkout = gateway.resume_checkout(_checkout_request(payment, email))
        except GatewayError as error:
            return self._give_up(payment.id, gateway, str(error))
        return self._record(payment.id, checkout)

    def _give_up(self, payment_id: UUID, gateway: PaymentGateway | None, reason: str) -> PaymentView:
        """Whatever the gateway still reports about the payment is applied first; otherwise it fails."""
        with contextlib.suppress(GatewayError):
            event = None if gateway is None else gateway.fetch_status(PaymentView.of(self._ledger.payment(payment_id)))
            if event is not None:
                self._apply(event)
        return self._fail(payment_id, f"an interrupted checkout could not be finished: {reason}")

    def _record(self, payment_id: UUID, checkout: Checkout) -> PaymentView:
        def record(payment: Payment) -> None:
            payment.open_checkout(checkout.payment_url, checkout.checkout_id, dict(checkout.instructions))

        return self._while_half_made(payment_id, record)

    def _fail(self, payment_id: UUID, reason: str) -> PaymentView:
        return self._while_half_made(
            payment_id, lambda payment: payment.fail(reason, key="checkout-failed", evidence={})
        )

    def _while_half_made(self, payment_id: UUID, change: Callable[[Payment], None]) -> PaymentView:
        """Change the payment only while it is half-made: another request or process may have finished it."""

        def attempt() -> PaymentView:
            current = self._ledger.payment(payment_id)
            if half_made(current):
                change(current)
                self._ledger.commit(current)
            return PaymentView.of(current)

        return retry_on_conflict(attempt)


class Openings:
    """The checkouts this process is opening right now; a replay waiting here wakes as soon as one ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._under_way: dict[UUID, threading.Event] = {}

    @contextmanager
    def opening(self, payment_id: UUID) -> Iterator[None]:
        ended = threading.Event()
        with self._lock:
            self._under_way[payment_id] = ended
        try:
            yield
        finally:
            with self._lock:
                self._under_way.pop(payment_id, None)
            ended.set()

    def under_way(self, payment_id: UUID) -> bool:
        with self._lock:
            return payment_id in self._under_way

    def wait(self, payment_id: UUID, seconds: float) -> None:
        """Until the open of `payment_id` ends here, or `seconds` pass (it may be under way elsewhere)."""
        with self._lock:
            ended = self._under_way.get(payment_id)
        (ended or threading.Event()).wait(seconds)


def half_made(payment: Payment) -> bool:
    """Recorded, but its checkout not (yet): pending without a URL to pay at."""
    return payment.is_pending and payment.payment_url is None


def _checkout_request(payment: Payment, email: str | None) -> CheckoutRequest:
    return CheckoutRequest(
        payment_id=payment.id,
        reference=payment.reference,
        price=payment.price,
        description=f"{payment.credits} Mycelium Credits",
        customer_email=email,
        wallet_id=Wallet.create_id(payment.user_id),
    )
