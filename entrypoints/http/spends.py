"""/api/wallet/spends, /api/ledger/public-key and the admin's payees and debts (API.md, "Spending credits")."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from application.errors import NotFound
from application.identity import Principal
from application.spending import SignedSpend
from entrypoints.http.amounts import amount_of
from entrypoints.http.auth import PUBLIC, requires
from entrypoints.http.dependencies import ServicesDep
from entrypoints.http.spend_schemas import DebtList, LedgerPublicKey, PayeeList, Spend, SpendRequest


class SpendsController(Controller):
    path = "/api/wallet/spends"
    tags = ("spending",)

    @post(
        "/",
        operation_id="createSpend",
        sync_to_thread=True,
        status_code=HTTP_201_CREATED,
        responses={200: ResponseSpec(Spend, description="The same signed spend again: the recorded spend")},
    )
    def spend(
        self, data: JSONBody[SpendRequest], request: Request[Principal, Any, Any], services: ServicesDep
    ) -> Response[Spend]:
        """Spend credits with a payee: 201 with the spend and its signed receipt, once it is committed.

        Refused with 422 and nothing recorded: `/problems/bad-signature` (not signed by your key over exactly this
        body), `/problems/stale-signature` (with `server_time`), `/problems/insufficient-funds` (with `balance` and
        `amount`), `/problems/invalid` (payee, order_id, memo, amount or signed_at malformed).
        """
        signed = SignedSpend(
            amount_of(data.amount), data.payee, data.order_id, data.memo, data.signed_at, data.signature
        )
        spent = services.spending.spend(request.user.user_id, signed)
        return Response(Spend.of(spent), status_code=HTTP_200_OK if spent.replayed else HTTP_201_CREATED)

    @get("/{spend_id:uuid}", sync_to_thread=True, operation_id="getSpend")
    def spend_of(self, spend_id: FromPath[UUID], request: Request[Principal, Any, Any], services: ServicesDep) -> Spend:
        """One of the caller's spends with its receipt, the same on every read (404 unknown or another user's)."""
        spent = services.spending.spend_of(request.user.user_id, spend_id)
        if spent is None:
            raise NotFound(f"no spend {spend_id}")
        return Spend.of(spent)


@get("/api/ledger/public-key", opt=PUBLIC, sync_to_thread=False, operation_id="getLedgerPublicKey", tags=["spending"])
def ledger_public_key(services: ServicesDep) -> LedgerPublicKey:
    """The ed25519 key (LEDGER_SIGNING_KEY's) that signs spend receipts and exports; 503 when none is configured."""
    return LedgerPublicKey(services.spending.public_key)


class PayeesAndDebtsController(Controller):
    path = "/api/admin"
    tags = ("admin",)
    guards = (requires("admin"),)

    @get("/payees", sync_to_thread=True, operation_id="listPayees")
    def payees(self, services: ServicesDep) -> PayeeList:
        """Every payee's balance (MC spent with it) and number of spends, highest balance first."""
        return PayeeList.of(services.spending.payees())

    @get("/debts", sync_to_thread=True, operation_id="listDebts")
    def debts(self, services: ServicesDep) -> DebtList:
        """Wallets below zero (credits reversed after they were spent), deepest first, with since when."""
        return DebtList.of(services.spending.debts())
