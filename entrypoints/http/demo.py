"""Demo mode's checkout page: Pay and Fail deliver a signed webhook to the real endpoint."""

from __future__ import annotations

import html
from typing import Any
from uuid import UUID

import anyio
import httpx
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from application.errors import Conflict, NotFound
from application.views import PaymentView
from entrypoints.http.auth import PUBLIC
from entrypoints.http.dependencies import ServicesDep


class DemoCheckoutController(Controller):
    path = "/demo/checkout/{payment_id:uuid}"
    tags = ("demo",)
    opt = PUBLIC
    include_in_schema = True

    @get("/", sync_to_thread=True, media_type="text/html", operation_id="showDemoCheckout")
    def page(self, payment_id: FromPath[UUID], services: ServicesDep) -> str:
        """The simulated gateway's checkout page."""
        return render_page(_demo_payment(services, payment_id))

    @post("/pay", status_code=HTTP_303_SEE_OTHER, operation_id="payDemoCheckout")
    async def pay(self, payment_id: FromPath[UUID], request: Request[Any, Any, Any], services: ServicesDep) -> Redirect:
        """Deliver the gateway's signed "paid" webhook, then return to the SPA."""
        return await _deliver(payment_id, "pay", request, services)

    @post("/fail", status_code=HTTP_303_SEE_OTHER, operation_id="failDemoCheckout")
    async def fail(
        self, payment_id: FromPath[UUID], request: Request[Any, Any, Any], services: ServicesDep
    ) -> Redirect:
        """Deliver the gateway's signed "failed" webhook, then return to the SPA."""
        return await _deliver(payment_id, "fail", request, services)


def _demo_payment(services: ServicesDep, payment_id: FromPath[UUID]) -> PaymentView:
    if not services.settings.demo_payment:
        raise NotFound("demo checkout is only available with DEMO_PAYMENT=true")
    return services.payments.payment(payment_id)


async def _deliver(
    payment_id: FromPath[UUID], outcome: str, request: Request[Any, Any, Any], services: ServicesDep
) -> Redirect:
    payment = await anyio.to_thread.run_sync(_demo_payment, services, payment_id)
    simulator = services.simulators.get(payment.gateway)
    if simulator is None:
        raise Conflict(f"{payment.gateway} payments are not settled on a checkout page: an admin confirms them")
    body, headers = simulator.simulate(payment, outcome)
    transport = httpx.ASGITransport(app=request.app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://mcpay.local") as client:
        answer = await client.post(f"/api/webhooks/{payment.gateway}", content=body, headers=headers)
    if answer.status_code != 200:
        raise Conflict(f"the {payment.gateway} webhook was refused: {answer.text}")
    return Redirect(f"/#/payments/{payment_id}", status_code=HTTP_303_SEE_OTHER)


def render_page(payment: PaymentView) -> str:
    amount = html.escape(f"{payment.amount} {payment.currency}")
    gateway = html.escape(payment.gateway)
    base = f"/demo/checkout/{payment.payment_id}"
    settled = payment.status != "pending"
    buttons = (
        f"<p>This payment is <strong>{html.escape(payment.status)}</strong>.</p>"
        + ("" if settled else "<p>Bank transfers have no Pay button: an admin confirms them on the admin desk.</p>")
        if settled or payment.gateway == "bank"
        else f"""<form method="post" action="{base}/pay"><button type="submit">Pay {amount}</button></form>
<form method="post" action="{base}/fail"><button type="submit">Fail</button></form>"""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo checkout · {gateway}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}
form{{display:inline-block;margin-right:.5rem}}button{{font-size:1rem;padding:.6rem 1.2rem}}</style></head>
<body><main><h1>Demo checkout</h1>
<p>Gateway: <strong>{gateway}</strong> (simulated: no money moves)</p>
<p>Amount: <strong>{amount}</strong> for {html.escape(str(payment.credits))} MC</p>
<p>Reference: <code>{html.escape(payment.reference)}</code></p>
{buttons}
</main></body></html>"""
