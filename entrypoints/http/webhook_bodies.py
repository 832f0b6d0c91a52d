"""The webhook bodies the HTTP edge takes: each gateway's envelope, checked before the gateway adapter verifies the
signature and reads the event, and written into the schema (the adapters need the raw bytes, so the body is not
declared as a handler parameter)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

import msgspec
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)

from application.errors import WebhookRejected

STRIPE_SIGNATURE = r"^t=[0-9]+(,[a-z0-9]+=[0-9a-f]+)+$"


class StripeEventData(msgspec.Struct):
    object: Annotated[dict[str, Any], msgspec.Meta(description="The Stripe object the event is about.")]


class StripeEvent(msgspec.Struct):
    """A Stripe Event. mcpay acts on checkout.session.completed, checkout.session.async_payment_succeeded and
    _failed, checkout.session.expired, charge.refunded and charge.dispute.created (their objects as Stripe's API
    reference defines them); any other type is answered 200 and ignored."""

    id: Annotated[str, msgspec.Meta(min_length=1)]
    type: str
    data: StripeEventData


class ClickPesaEvent(msgspec.Struct):
    """A ClickPesa webhook: `event` PAYMENT RECEIVED or PAYMENT FAILED with the payment in `data` (other events
    are answered 200 and ignored), signed by `checksum`, ClickPesa's canonical checksum of the other fields."""

    data: dict[str, Any]
    event: str | None = None
    eventType: str | None = None  # noqa: N815 (ClickPesa's own field name)
    checksum: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    checksumMethod: Literal["canonical"] = "canonical"  # noqa: N815


BODIES: dict[str, type[msgspec.Struct]] = {"stripe": StripeEvent, "clickpesa": ClickPesaEvent}
PATHS = {"stripe": "/api/webhooks/stripe", "clickpesa": "/api/webhooks/clickpesa"}


def check_body(gateway: str, body: bytes) -> None:
    """WebhookRejected unless the body is the gateway's envelope (its signature is the adapter's to check)."""
    try:
        msgspec.json.decode(body, type=BODIES[gateway])
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeError, RecursionError) as error:
        raise WebhookRejected(f"the body is not a {gateway} webhook: {error}") from None


def document_webhook_bodies(openapi: OpenAPI) -> None:
    """Each webhook operation's request body, and Stripe's signature header."""
    refs, components = msgspec.json.schema_components(
        tuple(BODIES.values()), ref_template="#/components/schemas/{name}"
    )
    schemas = openapi.components.schemas if openapi.components.schemas is not None else {}
    schemas.update(cast(dict[str, Schema], components))
    openapi.components.schemas = schemas
    paths = openapi.paths or {}
    for (gateway, path), ref in zip(PATHS.items(), refs, strict=True):
        operation = paths[path].post if path in paths else None
        if not isinstance(operation, Operation):
            continue
        media = OpenAPIMediaType(schema=Reference(ref=ref["$ref"]))
        operation.request_body = RequestBody(content={"application/json": media}, required=True)
        if gateway == "stripe":
            operation.parameters = [*(operation.parameters or ()), _stripe_signature()]


def _stripe_signature() -> Parameter:
    return Parameter(
        name="Stripe-Signature",
        param_in="header",
        required=True,
        description='t=<unix time>,v1=<HMAC-SHA256 hex of "t.body"> with the endpoint\'s webhook secret '
        "(several v1 during a rotation); older than 300 s, or matching no secret: 400.",
        schema=Schema(type=OpenAPIType.STRING, pattern=STRIPE_SIGNATURE),
    )
