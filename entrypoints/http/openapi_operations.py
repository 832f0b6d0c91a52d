"""Every operation of the schema as its handler says: a summary from the first line of its docstring (the rest is
the description), the initiate body from the gateways this deployment offers, and no query parameter that the
operation does not declare (an undeclared one is a 400, so the schema lists exactly what is read)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, cast
from urllib.parse import parse_qsl

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.openapi.spec import Link, OpenAPIResponse, Operation, Parameter, Schema
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.helpers import unwrap_partial

from application.gateways import GatewayOffer
from domain.money import MINOR_DIGITS, minor_digits
from entrypoints.http.admin_schemas import AcknowledgeHeld, ConfirmPayment, RejectPayment
from entrypoints.http.amounts import amount_schema
from entrypoints.http.webhook_bodies import document_webhook_bodies

INITIATE_BODY = "InitiatePayment"
CONFIRM_BODY = ConfirmPayment.__name__
CLOSED_BODIES = (ConfirmPayment, RejectPayment, AcknowledgeHeld)  # forbid_unknown_fields: another field is a 400
QueryNames = Mapping[tuple[str, str], frozenset[str]]


def each_operation(app: Litestar) -> Iterator[tuple[Operation, HTTPRouteHandler, str, str]]:
    """(operation, its handler, method, path template) for every operation of the app's schema."""
    paths = app.openapi_schema.paths or {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format not in paths:
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods if handler.include_in_schema else ():
                operation = getattr(paths[route.path_format], method.lower(), None)
                if isinstance(operation, Operation):
                    yield operation, handler, method, route.path_format


def document_operations(app: Litestar, offers: Sequence[GatewayOffer], rates: Mapping[str, Decimal]) -> None:
    """Summaries and descriptions from the handlers, the initiate body from the offers (call once routes are in)."""
    for operation, handler, _, _ in each_operation(app):
        summary, _, rest = (unwrap_partial(handler.fn).__doc__ or "").strip().partition("\n")
        if handler.summary is None:
            operation.summary = summary.strip() or operation.summary
        if handler.description is None:
            operation.description = " ".join(rest.split()) or None
    schemas = app.openapi_schema.components.schemas or {}
    if INITIATE_BODY in schemas:
        schemas[INITIATE_BODY] = initiate_schema(offers, rates)
    if isinstance(confirm := schemas.get(CONFIRM_BODY), Schema):
        confirm.one_of = cast(Any, receipt_branches())
    document_webhook_bodies(app.openapi_schema)
    link_next_pages(app)
    for body in CLOSED_BODIES:
        schema = schemas.get(body.__name__)
        if isinstance(schema, Schema):
            schema.additional_properties = False


# The operations whose answer's next_cursor continues a list, and the operation that continues it.
NEXT_PAGES = {
    "listPayments": "listPayments",
    "listAdminPayments": "listAdminPayments",
    "listWalletTransactions": "listWalletTransactions",
    "getWallet": "listWalletTransactions",
}


def link_next_pages(app: Litestar) -> None:
    """An OpenAPI link from each list's answer to its next page: the same filters, the answer's next_cursor."""
    for operation, _, _, _ in each_operation(app):
        following = NEXT_PAGES.get(operation.operation_id or "")
        answer = (operation.responses or {}).get("200")
        if following is None or not isinstance(answer, OpenAPIResponse):
            continue
        parameters = {"cursor": "$response.body#/next_cursor"}
        if following == operation.operation_id:
            declared = [parameter for parameter in operation.parameters or () if isinstance(parameter, Parameter)]
            kept = [parameter.name for parameter in declared if parameter.param_in == "query"]
            parameters |= {name: f"$request.query.{name}" for name in kept if name != "cursor"}
        answer.links = {"nextPage": Link(operation_id=following, parameters=dict(parameters))}


def initiate_schema(offers: Sequence[GatewayOffer], rates: Mapping[str, Decimal]) -> Schema:
    """One branch per gateway and currency offered, each with its minimum amount."""
    email = {"oneOf": [{"type": "string"}, {"type": "null"}], "description": "The payer's e-mail, for the gateway."}
    branches = [
        {
            "type": "object",
            "required": ["amount", "currency", "gateway"],
            "properties": {
                "amount": amount_schema(
                    offer.min_amounts.get(currency), minor_digits(currency), offer.max_amounts.get(currency)
                ),
                "currency": {"const": currency},
                "gateway": {"const": offer.name},
                "email": email,
            },
        }
        for offer in offers
        for currency in offer.currencies
        if currency in rates
    ]
    return Schema(
        title=INITIATE_BODY,
        description="An amount, a currency and a gateway this deployment offers (GET /api/payments/gateways), "
        "at least that gateway's minimum for the currency; an optional e-mail for the gateway.",
        one_of=cast(Any, branches),
    )


def receipt_branches() -> list[dict[str, Any]]:
    """What an admin may say arrived: one branch per currency, each with its decimal places."""
    return [
        {
            "properties": {
                "received_currency": {"const": currency},
                "received_amount": amount_schema(None, places),
            }
        }
        for currency, places in sorted(MINOR_DIGITS.items())
    ]


def query_names(app: Litestar) -> dict[tuple[str, str], frozenset[str]]:
    """The query parameters each documented operation declares, by (method, path template)."""
    names: dict[tuple[str, str], frozenset[str]] = {}
    for operation, _, method, path in each_operation(app):
        declared = [parameter for parameter in operation.parameters or () if isinstance(parameter, Parameter)]
        names[(method, path)] = frozenset(parameter.name for parameter in declared if parameter.param_in == "query")
    return names


class DeclaredQueryOnly(ASGIMiddleware):
    """A 400 for a query parameter the operation does not declare (a typo like `?stauts=` is not ignored)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self) -> None:
        self._names: QueryNames | None = None

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        declared = self._declared(scope).get((str(scope.get("method")), scope.get("path_template", "")))
        if declared is not None:
            sent = {name for name, _ in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)}
            unknown = sorted(sent - declared)
            if unknown:
                raise ValidationException(
                    f"unknown query parameter {unknown[0]!r} (this operation takes: "
                    f"{', '.join(sorted(declared)) or 'none'})"
                )
        await next_app(scope, receive, send)

    def _declared(self, scope: Scope) -> QueryNames:
        if self._names is None:
            app: Litestar = scope["litestar_app"]
            self._names = query_names(app)
        return self._names
