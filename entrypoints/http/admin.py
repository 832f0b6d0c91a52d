"""/api/admin: the admin desk (role `admin` on every route)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK

from application.admin import Receipt
from application.identity import Principal
from application.paging import DEFAULT_LIMIT
from application.queries import STATUSES, PaymentListing
from entrypoints.http.admin_schemas import (
    AcknowledgeHeld,
    AdminPayment,
    AdminPaymentList,
    ConfirmPayment,
    RejectPayment,
)
from entrypoints.http.amounts import amount_of
from entrypoints.http.auth import requires
from entrypoints.http.dependencies import ServicesDep
from entrypoints.http.paging import Limit, PageCursor
from entrypoints.http.schemas import GATEWAYS
from entrypoints.http.times import query_time, time_parameter

StatusFilter = Annotated[
    str | None,
    Parameter(description="Only payments in this status (another value: 422).", schema_extra={"enum": list(STATUSES)}),
]
GatewayFilter = Annotated[
    str | None,
    Parameter(
        description="Only payments through this gateway (another value: 422).", schema_extra={"enum": list(GATEWAYS)}
    ),
]
CreatedAfter = Annotated[str | None, time_parameter("Only payments created at or after this time (RFC 3339).")]
CreatedBefore = Annotated[str | None, time_parameter("Only payments created before this time (RFC 3339).")]


class AdminController(Controller):
    path = "/api/admin/payments"
    tags = ("admin",)
    guards = (requires("admin"),)

    @get("/", operation_id="listAdminPayments")
    async def payments(
        self,
        services: ServicesDep,
        status: StatusFilter = None,
        gateway: GatewayFilter = None,
        created_after: CreatedAfter = None,
        created_before: CreatedBefore = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: PageCursor = None,
    ) -> AdminPaymentList:
        """Every user's payments, those awaiting an admin first, a page at a time.

        Bank transfers awaiting confirmation, then payments in needs_review, then the rest; newest first within
        each group. Each item is a Payment plus `user_id` and the maker-checker state. A cursor continues the
        listing as it stood at its first page, with the filters it was given out with.
        """
        filters = PaymentListing(
            status=status,
            gateway=gateway,
            created_after=query_time("created_after", created_after),
            created_before=query_time("created_before", created_before),
        )
        page = await services.reader.admin_queue(filters, limit, cursor)
        return AdminPaymentList.of(page, services.admin.confirmations_required)

    @post("/{payment_id:uuid}/confirm", status_code=HTTP_200_OK, sync_to_thread=True, operation_id="confirmPayment")
    def confirm(
        self,
        payment_id: FromPath[UUID],
        data: JSONBody[ConfirmPayment],
        request: Request[Principal, Any, Any],
        services: ServicesDep,
    ) -> AdminPayment:
        """Confirm what arrived for a pending bank transfer, or credit a payment in needs_review.

        It credits once BANK_CONFIRMATIONS_REQUIRED different admins confirmed the same received amount (an
        admin confirming twice counts once). Admins who disagree, or an amount other than the initiated one
        without `credit_received_amount`, move the payment to needs_review. 409 for a payment that is not a
        pending bank transfer or in needs_review (e.g. already confirmed, rejected or expired), and for the
        admin's own payment: no admin approves money for their own wallet, and the refused confirm never counts.
        """
        amount = amount_of(data.received_amount, "received_amount")
        receipt = Receipt(amount, data.received_currency, data.note, data.credit_received_amount)
        view = services.admin.confirm(request.user.user_id, payment_id, receipt)
        return AdminPayment.of_view(view, services.admin.confirmations_required)

    @post("/{payment_id:uuid}/reject", status_code=HTTP_200_OK, sync_to_thread=True, operation_id="rejectPayment")
    def reject(
        self,
        payment_id: FromPath[UUID],
        data: JSONBody[RejectPayment],
        request: Request[Principal, Any, Any],
        services: ServicesDep,
    ) -> AdminPayment:
        """Reject a pending bank transfer or a payment in needs_review: it never credits (409 otherwise)."""
        view = services.admin.reject(request.user.user_id, payment_id, data.reason)
        return AdminPayment.of_view(view, services.admin.confirmations_required)

    @post(
        "/{payment_id:uuid}/acknowledge",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        operation_id="acknowledgeHeldNews",
    )
    def acknowledge(
        self,
        payment_id: FromPath[UUID],
        data: JSONBody[AcknowledgeHeld],
        request: Request[Principal, Any, Any],
        services: ServicesDep,
    ) -> AdminPayment:
        """Acknowledge the payment's held gateway news (a refund before its confirmation, a second payment...).

        Nothing is credited or reversed: the note says what the admin did (e.g. refunded the second charge at
        the gateway), and the payment leaves the top of the desk. 409 when nothing held awaits an admin.
        """
        view = services.admin.acknowledge(request.user.user_id, payment_id, data.note)
        return AdminPayment.of_view(view, services.admin.confirmations_required)
