"""/api/payments and /api/wallet: a user's own top-ups and balance."""

from __future__ import annotations

from typing import Annotated, Any, cast
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody
from litestar.serialization import encode_json
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from application.errors import Invalid
from application.identity import Principal
from application.paging import DEFAULT_LIMIT
from application.payments import TopUpOrder
from application.reading import WalletPage
from entrypoints.http.amounts import amount_of
from entrypoints.http.auth import PUBLIC
from entrypoints.http.dependencies import ServicesDep
from entrypoints.http.paging import Limit, PageCursor
from entrypoints.http.schemas import (
    GatewayInfo,
    InitiatePayment,
    Payment,
    PaymentList,
    Wallet,
    WalletTransactionList,
)

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description=(
            "Same key and body: the same payment again (200). Same key, other body: 409 idempotency-conflict. "
            "While the first request is still opening the checkout: 409 checkout-in-progress with Retry-After. "
            "1 to 255 characters (else 422)."
        ),
        schema_extra={"minLength": 1, "maxLength": 255},
    ),
]


class PaymentsController(Controller):
    path = "/api/payments"
    tags = ("payments",)

    @get("/gateways", opt=PUBLIC, sync_to_thread=False, operation_id="listGateways")
    def gateways(self, services: ServicesDep) -> list[GatewayInfo]:
        """The gateways offered, their currencies, minimum amounts and current credit rates."""
        rates = services.settings.credit_rates
        return [GatewayInfo.of(offer, rates) for offer in services.payments.offers()]

    @post(
        "/initiate",
        operation_id="initiatePayment",
        sync_to_thread=True,
        status_code=HTTP_201_CREATED,
        responses={200: ResponseSpec(Payment, description="An Idempotency-Key replay: the earlier payment")},
    )
    def initiate(
        self,
        data: JSONBody[InitiatePayment],
        request: Request[Principal, Any, Any],
        services: ServicesDep,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Payment]:
        """Start a top-up: 201 with the new payment and its `payment_url`; 200 for an Idempotency-Key replay."""
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
            raise Invalid("Idempotency-Key must be 1 to 255 characters")
        order = TopUpOrder(amount_of(data.amount), data.currency, data.gateway, data.email)
        result = services.payments.initiate(request.user.user_id, order, idempotency_key)
        status = HTTP_200_OK if result.replayed else HTTP_201_CREATED
        return Response(Payment.of(result.payment), status_code=status)

    @get("/{payment_id:uuid}", sync_to_thread=True, operation_id="getPayment")
    def payment(
        self, payment_id: FromPath[UUID], request: Request[Principal, Any, Any], services: ServicesDep
    ) -> Payment:
        """One of the caller's payments, read from the ledger (404 for another user's)."""
        return Payment.of(services.payments.payment_of(request.user.user_id, payment_id))

    @get("/", operation_id="listPayments")
    async def payments(
        self,
        request: Request[Principal, Any, Any],
        services: ServicesDep,
        limit: Limit = DEFAULT_LIMIT,
        cursor: PageCursor = None,
    ) -> PaymentList:
        """The caller's payments, newest first, a page at a time."""
        return PaymentList.of(await services.reader.payments_of(request.user.user_id, limit, cursor))


class WalletController(Controller):
    path = "/api/wallet"
    tags = ("payments",)

    @get("/", operation_id="getWallet")
    async def wallet(self, request: Request[Principal, Any, Any], services: ServicesDep) -> Response[Wallet]:
        """Balance in MC and the newest 50 transactions, with the cursor to older ones."""
        answer = await services.reader.wallet_answer(request.user.user_id, encoded_wallet)
        return cast("Response[Wallet]", Response(answer, media_type=MediaType.JSON))  # JSON already: sent as it is

    @get("/transactions", operation_id="listWalletTransactions")
    async def transactions(
        self,
        request: Request[Principal, Any, Any],
        services: ServicesDep,
        limit: Limit = DEFAULT_LIMIT,
        cursor: PageCursor = None,
    ) -> WalletTransactionList:
        """The wallet's transactions, newest first, a page at a time."""
        page = await services.reader.transactions_of(request.user.user_id, limit, cursor)
        return WalletTransactionList.of(page)


def encoded_wallet(page: WalletPage) -> bytes:
    return encode_json(Wallet.of(page))
