"""The problem+json answers of every operation, written into the OpenAPI schema in one place.

Handlers document their successes; the errors all come from one mapping (`problems.py`), so they are
documented here from what each operation is: it reads a body or parameters (400, 422), a JSON body
(415), a body at all (413), it needs a session (401) or a role (403), it names a resource (404), it
needs the store (503). The few conflicts and gateway refusals only some operations answer are listed.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
)

from entrypoints.http.auth import PUBLIC
from entrypoints.http.openapi_operations import each_operation

PROBLEM = "Problem"
MEDIA_TYPE = "application/problem+json"
DESCRIPTIONS = {
    400: "Malformed request: the body, a parameter or a webhook's signature could not be read, or a query "
    "parameter the operation does not take",
    401: "Missing, invalid, expired or ended session token (signing in: a challenge or signature that is not valid)",
    403: "The session's key lacks the role this needs",
    404: "Unknown, or not the caller's",
    409: "Conflicts with what is recorded (an Idempotency-Key or order_id reused with another body, a settled payment, "
    "a demo checkout of a payment its gateway refused or that has no checkout page)",
    413: "Request body over the 64 KiB limit",
    415: "The body is not declared as application/json",
    422: "Well-formed but not acceptable",
    502: "The payment gateway refused; the payment is recorded as failed",
    503: "The store or the payment gateway is unavailable right now; try again",
}
INITIATE_CONFLICT = (
    "`/problems/idempotency-conflict`: the Idempotency-Key was used with another body. "
    "`/problems/checkout-in-progress`: the first request with this key is still opening the checkout "
    "(waited for a few seconds); send the same request again after `Retry-After` seconds"
)
SPEND_CONFLICT = "`/problems/order-already-used`: this order_id was used with this payee for another spend"
SPEND_REFUSED = (
    "Refused, nothing recorded: `/problems/bad-signature`, `/problems/stale-signature` (`server_time`), "
    "`/problems/insufficient-funds` (`balance`, `amount`), `/problems/invalid-amount` (the amount), "
    "`/problems/invalid` (another malformed field)"
)
NO_SIGNING_KEY = "`/problems/signing-key-missing`: no LEDGER_SIGNING_KEY is configured; or the store is unavailable"
AMOUNT_REFUSED = (
    "`/problems/invalid-amount`: the amount is not one of its currency (not plain decimal text, not positive and "
    "below 1e12, or with more decimal places than the currency has); `/problems/invalid`: anything else that is not acceptable"
)
OWN_DESCRIPTIONS = {
    ("POST", "/api/payments/initiate", 409): INITIATE_CONFLICT,
    ("POST", "/api/payments/initiate", 422): f"{AMOUNT_REFUSED} (a gateway or currency not offered, an amount "
    "outside the gateway's `min_amount` and `max_amount`)",
    ("POST", "/api/admin/payments/{payment_id}/confirm", 422): AMOUNT_REFUSED,
    ("POST", "/api/wallet/spends", 409): SPEND_CONFLICT,
    ("POST", "/api/wallet/spends", 422): SPEND_REFUSED,
    ("POST", "/api/wallet/spends", 503): NO_SIGNING_KEY,
    ("GET", "/api/ledger/public-key", 503): NO_SIGNING_KEY,
}
RETRY_AFTER = {("POST", "/api/payments/initiate", 409)}
ONLY_SOME = {
    ("POST", "/api/auth/session"): (401,),
    ("POST", "/api/payments/initiate"): (409, 502),
    ("POST", "/api/wallet/spends"): (409,),
    ("POST", "/api/admin/payments/{payment_id}/confirm"): (409,),
    ("POST", "/api/admin/payments/{payment_id}/reject"): (409,),
    ("POST", "/demo/checkout/{payment_id}/pay"): (409,),
    ("POST", "/demo/checkout/{payment_id}/fail"): (409,),
}
WITHOUT_STORE = {"/healthz", "/api/payments/gateways", "/api/auth/challenge"}
BODY_METHODS = {"POST", "PUT", "PATCH"}


def problem_schema() -> Schema:
    text = Schema(type=OpenAPIType.STRING)
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["type", "title", "status", "detail"],
        properties={
            "type": Schema(type=OpenAPIType.STRING, description="`/problems/<slug>`"),
            "title": text,
            "status": Schema(type=OpenAPIType.INTEGER),
            "detail": text,
        },
        description="An RFC 9457 problem; some carry more fields (`errors`: what failed validation).",
    )


def document_problems(app: Litestar) -> None:
    """Add the problem responses to every operation of the app's schema (call once the routes are registered)."""
    openapi = app.openapi_schema
    if openapi.components.schemas is None:
        openapi.components.schemas = {}
    openapi.components.schemas[PROBLEM] = problem_schema()
    for operation, handler, method, path in each_operation(app):
        _document(operation, handler, method, path)


def _document(operation: Operation, handler: HTTPRouteHandler, method: str, path: str) -> None:
    responses = operation.responses if operation.responses is not None else {}
    for status in sorted(_statuses(operation, handler, method, path)):
        if status == 400 or str(status) not in responses:  # Litestar's own 400 is JSON of another shape
            responses[str(status)] = _response(status, (method, path, status))
    operation.responses = responses
    if _is_public(handler):
        operation.security = []  # no bearer token needed (the app's default says otherwise)


def _statuses(operation: Operation, handler: HTTPRouteHandler, method: str, path: str) -> set[int]:
    reads_input = bool(operation.parameters) or operation.request_body is not None or method in BODY_METHODS
    statuses = set(ONLY_SOME.get((method, path), ()))
    statuses |= {400}  # an undeclared query parameter, whatever the operation
    statuses |= {422} if reads_input else set()
    statuses |= {413} if method in BODY_METHODS else set()
    statuses |= {415} if operation.request_body is not None else set()
    statuses |= set() if _is_public(handler) else {401}
    statuses |= {403} if handler.resolve_guards() else set()
    statuses |= {404} if "{" in path else set()
    statuses |= set() if path in WITHOUT_STORE else {503}
    return statuses


def _is_public(handler: HTTPRouteHandler) -> bool:
    return all(handler.opt.get(key) == value for key, value in PUBLIC.items())


def _response(status: int, where: tuple[str, str, int]) -> OpenAPIResponse:
    schema = Reference(ref=f"#/components/schemas/{PROBLEM}")
    headers: dict[str, OpenAPIHeader | Reference] | None = None
    if where in RETRY_AFTER:
        seconds = Schema(type=OpenAPIType.INTEGER, minimum=1)
        headers = {"Retry-After": OpenAPIHeader(schema=seconds, description="Seconds to wait before trying again")}
    return OpenAPIResponse(
        description=OWN_DESCRIPTIONS.get(where, DESCRIPTIONS[status]),
        content={MEDIA_TYPE: OpenAPIMediaType(schema=schema)},
        headers=headers,
    )
