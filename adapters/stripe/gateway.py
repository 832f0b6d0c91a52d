"""Stripe Checkout through the official SDK: sessions created and retrieved, Stripe's errors translated."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import stripe
import stripe._util

from adapters.stripe.amounts import to_stripe_units
from adapters.stripe.events import dispute_event, dispute_won_event, object_id, refund_event, session_status
from application.errors import GatewayError, GatewayRefused, GatewayUnavailable
from application.gateways import Checkout, CheckoutRequest, GatewayEvent, GatewayOffer, Outcome
from application.ports import Clock, WebhookVerifier
from application.views import PaymentView
from domain.errors import DomainError

if TYPE_CHECKING:
    from stripe.params.checkout import SessionCreateParams, SessionListParams

logger = logging.getLogger("mcpay.stripe")

SESSION_LIFETIME = timedelta(hours=1)  # Stripe accepts 30 minutes to 24 hours
CLOCK_SKEW = timedelta(minutes=10)  # between our clock and Stripe's `created`, when looking sessions up by time
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 20.0
NETWORK_RETRIES = 2
# Stripe's keys and signing secrets, any of them: at a word's start, or right after a JSON escape (`\n`, `\u0001`),
# where a log line's JSON writes a key that followed a control character.
KEY_SHAPE = re.compile(r"(?:\b|(?<=\\[nrtbf])|(?<=\\u[0-9a-fA-F]{4}))(?:sk|rk|pk|whsec)_[A-Za-z0-9_]+")


def log_through_logging_only() -> None:
    """With STRIPE_LOG (or `stripe.log`) set, the SDK also prints its lines, unmasked, straight to stderr.

    Its logger ("stripe") still logs every line, through mcpay's masking; the copy printed past it is turned off.
    """
    stripe.log = None
    stripe._util.STRIPE_LOG = None


def stripe_client(secret_key: str, api_base: str) -> stripe.StripeClient:
    """A synchronous client on Stripe's default transport (requests), retrying network errors and 5xx."""
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base},
        http_client=stripe.RequestsClient(timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)),
        max_network_retries=NETWORK_RETRIES,
    )


class StripeGateway:
    """Opens a Checkout Session per payment; reads webhooks and sessions into gateway events."""

    def __init__(
        self,
        offer: GatewayOffer,
        client: stripe.StripeClient,
        webhooks: WebhookVerifier,
        return_base: str,
        clock: Clock,
    ) -> None:
        self._offer = offer
        self._client = client
        self._webhooks = webhooks
        self._return_base = return_base.rstrip("/")
        self._clock = clock

    @property
    def offer(self) -> GatewayOffer:
        return self._offer

    def initiate_checkout(self, request: CheckoutRequest) -> Checkout:
        params = checkout_params(request, self._return_base, self._clock.now() + SESSION_LIFETIME)
        try:
            session = self._client.v1.checkout.sessions.create(params, {"idempotency_key": idempotency_key(request)})
        except stripe.StripeError as error:
            raise gateway_error("open a Checkout Session", error) from error
        return opened_checkout(session)

    def resume_checkout(self, request: CheckoutRequest) -> Checkout:
        """The session an interrupted create made (open, found by the payment's reference), else a new one."""
        found = self._open_session_of(request.reference)
        return opened_checkout(found) if found is not None else self.initiate_checkout(request)

    def _open_session_of(self, reference: str) -> stripe.checkout.Session | None:
        since = self._clock.now() - SESSION_LIFETIME - CLOCK_SKEW
        params: SessionListParams = {"created": {"gte": int(since.timestamp())}, "status": "open", "limit": 100}
        try:
            sessions = self._client.v1.checkout.sessions.list(params)
            if not isinstance(sessions, stripe.ListObject):
                raise GatewayRefused("Stripe answered the list of open Checkout Sessions with something else")
            return next((s for s in sessions.auto_paging_iter() if _reference_of(s) == reference), None)
        except stripe.StripeError as error:
            raise gateway_error("list open Checkout Sessions", error) from error

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        return self._webhooks.parse_webhook(body, headers)

    def fetch_status(self, payment: PaymentView) -> GatewayEvent | None:
        """The payment's Checkout Session, retrieved and read as its webhook would have said it."""
        session_id = payment.checkout_id
        if not session_id or not session_id.startswith("cs_"):
            return None  # no session was opened (or a demo one)
        try:
            session = self._client.v1.checkout.sessions.retrieve(session_id, {"expand": ["payment_intent"]})
        except stripe.StripeError as error:
            raise gateway_error("retrieve a Checkout Session", error) from error
        data = session.to_dict()
        raw = session.last_response.body if session.last_response else json.dumps(data, sort_keys=True)
        evidence = {
            "source": "reconciliation",
            "object_id": session_id,
            "payment_intent": object_id(data.get("payment_intent")) or "",
            "session_status": str(data.get("status")),
            "payment_status": str(data.get("payment_status")),
            "response_sha256": hashlib.sha256(raw.encode()).hexdigest(),
            "stripe_request_id": (session.last_response.request_id if session.last_response else None) or "",
        }
        try:
            return session_status(data, evidence)
        except (ValueError, KeyError, TypeError, AttributeError, DomainError) as error:
            raise GatewayRefused(f"Stripe's Checkout Session {session_id} could not be read: {error}") from error

    def fetch_reversals(self, payment: PaymentView) -> list[GatewayEvent]:
        """The refunds and disputes of the payment intent's charges, read as their webhooks would say them."""
        intent = payment.paid_object
        if not intent or not intent.startswith("pi_"):
            return []
        charges = self._list("charges", intent)
        events = [refund for refund in (self._refund(charge) for charge in charges) if refund is not None]
        if any(charge.get("disputed") for charge in charges):
            for dispute in self._list("disputes", intent):
                evidence = {"source": "reconciliation", "object_id": str(dispute.get("id", ""))}
                events.append(dispute_event(dispute, evidence))
                if dispute.get("status") == "won":
                    events.append(dispute_won_event(dispute, evidence))
        return events

    def _list(self, kind: str, intent: str) -> list[dict[str, Any]]:
        service = self._client.v1.charges if kind == "charges" else self._client.v1.disputes
        try:
            page = service.list({"payment_intent": intent, "limit": 100})
        except stripe.StripeError as error:
            raise gateway_error(f"list the {kind} of a payment intent", error) from error
        return [item.to_dict() for item in page.data]

    @staticmethod
    def _refund(charge: Mapping[str, Any]) -> GatewayEvent | None:
        evidence = {"source": "reconciliation", "object_id": str(charge.get("id", ""))}
        try:
            event = refund_event(charge, evidence)
        except (ValueError, KeyError, TypeError, DomainError) as error:
            raise GatewayRefused(f"Stripe's charge {charge.get('id')} could not be read: {error}") from error
        return event if event.outcome is Outcome.REFUNDED else None


def is_live_key(secret_key: str) -> bool:
    """Whether a Stripe secret (or restricted) key is a live-mode key."""
    return secret_key.startswith(("sk_live_", "rk_live_"))


def opened_checkout(answer: object) -> Checkout:
    """The Checkout Session Stripe answered with; any other shape is a refusal, never a half-made checkout."""
    data = answer.to_dict() if isinstance(answer, stripe.StripeObject) else None
    if data is None or data.get("object") != "checkout.session":
        shape = f"a JSON {type(answer).__name__}" if data is None else f"an object of type {data.get('object')!r:.40}"
        raise GatewayRefused(f"Stripe answered the create with {shape}, not a Checkout Session")
    session_id, url = data.get("id"), data.get("url")
    if not isinstance(session_id, str) or not session_id.startswith("cs_"):
        raise GatewayRefused("Stripe answered with a Checkout Session that has no id")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise GatewayRefused(f"Stripe answered with Checkout Session {session_id}, which has no url")
    return Checkout(payment_url=url, checkout_id=session_id)


def _reference_of(session: object) -> object:
    return session.to_dict().get("client_reference_id") if isinstance(session, stripe.StripeObject) else None


def idempotency_key(request: CheckoutRequest) -> str:
    """One per payment: a retried create (by the SDK or by us) finds the session instead of making a second."""
    return f"mcpay-checkout-{request.payment_id}"


def return_urls(return_base: str, payment_id: object) -> tuple[str, str]:
    """The SPA's return page for the payment: success carries Stripe's session id, cancel a marker."""
    page = f"{return_base}/#/payments/{payment_id}"
    return f"{page}?session_id={{CHECKOUT_SESSION_ID}}", f"{page}?checkout=cancelled"


def checkout_params(request: CheckoutRequest, return_base: str, expires_at: datetime) -> SessionCreateParams:
    success_url, cancel_url = return_urls(return_base, request.payment_id)
    metadata = {"payment_id": str(request.payment_id), "reference": request.reference}
    if request.wallet_id is not None:
        metadata["wallet_id"] = str(request.wallet_id)
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": request.price.currency.lower(),
                    "unit_amount": to_stripe_units(request.price),
                    "product_data": {"name": request.description},
                },
            }
        ],
        "client_reference_id": request.reference,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires_at.timestamp()),
    }
    if request.customer_email:
        params["customer_email"] = request.customer_email
    return params


def gateway_error(action: str, error: stripe.StripeError) -> GatewayError:
    """Unreachable, overloaded or failing (503), or a refusal of the request itself (502)."""
    status = error.http_status
    if isinstance(error, stripe.APIError) and status is not None and 200 <= status < 300:
        failure: GatewayError = GatewayRefused(
            f"Stripe was asked to {action} and answered with a body that is not JSON"
        )
    elif isinstance(error, stripe.APIConnectionError) or status is None:
        failure = GatewayUnavailable(f"Stripe could not be reached to {action}; try again shortly")
    elif isinstance(error, stripe.RateLimitError) or status >= 500 or status == 409:
        failure = GatewayUnavailable(f"Stripe could not {action} right now (HTTP {status}); try again shortly")
    else:
        failure = GatewayRefused(f"Stripe refused to {action} (HTTP {status}{_code(error)}): {_message(error)}")
    logger.warning("stripe: %s (request %s)", failure, error.request_id or "-")
    return failure


def _code(error: stripe.StripeError) -> str:
    return f", {error.code}" if error.code else ""


def _message(error: stripe.StripeError) -> str:
    """Stripe's own explanation, without anything that looks like a key, and short."""
    text = KEY_SHAPE.sub("[redacted]", error.user_message or "no explanation given")
    return text if len(text) <= 300 else text[:297] + "..."
