"""The demo path in memory: a simulated, signed webhook through the real verifier credits once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.clickpesa.simulator import ClickPesaSimulator
from adapters.clickpesa.webhooks import ClickPesaWebhooks
from adapters.demo import DemoGateway
from adapters.stripe.simulator import StripeSimulator
from adapters.stripe.webhooks import StripeWebhooks
from application.errors import WebhookRejected
from application.gateways import GatewayOffer
from application.ledger import Ledger
from application.payments import PaymentService, TopUpOrder
from application.ports import WebhookSimulator
from tests.following import wallet_of
from tests.unit.fakes import FakeIdentifiers

pytestmark = pytest.mark.unit

RATES = {"USD": Decimal(1), "TZS": Decimal("0.00037")}
MINIMUMS = {"USD": Decimal("0.50"), "TZS": Decimal("1352")}
STRIPE_SECRET = "whsec_demo"
CLICKPESA_SECRET = "clickpesa-demo"
USER = "c" * 64


@pytest.fixture
def service(ledger: Ledger) -> PaymentService:
    gateways = {
        "stripe": DemoGateway(
            GatewayOffer("stripe", ("USD", "TZS"), MINIMUMS, demo=True),
            "http://mcpay.test",
            StripeWebhooks([STRIPE_SECRET]),
        ),
        "clickpesa": DemoGateway(
            GatewayOffer("clickpesa", ("TZS", "USD"), MINIMUMS, demo=True),
            "http://mcpay.test",
            ClickPesaWebhooks(CLICKPESA_SECRET),
        ),
    }
    return PaymentService(ledger, gateways, RATES, FakeIdentifiers())


SIMULATORS: dict[str, WebhookSimulator] = {
    "stripe": StripeSimulator(STRIPE_SECRET),
    "clickpesa": ClickPesaSimulator(CLICKPESA_SECRET),
}


@pytest.mark.parametrize("gateway", ["stripe", "clickpesa"])
def test_a_simulated_payment_webhook_credits_the_wallet_once(
    ledger: Ledger, service: PaymentService, gateway: str
) -> None:
    view = service.initiate(USER, TopUpOrder("50000", "TZS", gateway)).payment
    assert view.payment_url == f"http://mcpay.test/demo/checkout/{view.payment_id}"
    body, headers = SIMULATORS[gateway].simulate(view, "pay")
    assert service.receive_webhook(gateway, body, headers) == "confirmed"
    assert service.receive_webhook(gateway, body, headers) == "duplicate"
    assert service.payment(view.payment_id).status == "confirmed"
    assert wallet_of(ledger, USER).balance == Decimal("18.50")


@pytest.mark.parametrize("gateway", ["stripe", "clickpesa"])
def test_a_simulated_failure_webhook_fails_the_payment(ledger: Ledger, service: PaymentService, gateway: str) -> None:
    view = service.initiate(USER, TopUpOrder("10", "USD", gateway)).payment
    body, headers = SIMULATORS[gateway].simulate(view, "fail")
    assert service.receive_webhook(gateway, body, headers) == "failed"
    assert service.payment(view.payment_id).status == "failed"
    assert wallet_of(ledger, USER).balance == Decimal("0.00")


def test_a_webhook_signed_for_another_gateway_is_rejected_and_changes_nothing(service: PaymentService) -> None:
    view = service.initiate(USER, TopUpOrder("10", "USD", "stripe")).payment
    body, headers = StripeSimulator("whsec_forged").simulate(view, "pay")
    with pytest.raises(WebhookRejected):
        service.receive_webhook("stripe", body, headers)
    assert service.payment(view.payment_id).status == "pending"
