"""ClickPesaGateway against a fake ClickPesa over real HTTP: token, checkout, status, failures."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from adapters.clickpesa.client import ClickPesaClient
from adapters.clickpesa.gateway import ClickPesaGateway
from adapters.clickpesa.webhooks import ClickPesaWebhooks
from application.errors import GatewayRefused, GatewayUnavailable
from application.gateways import CheckoutRequest, GatewayOffer, Outcome
from application.views import PaymentView
from domain.money import Money
from tests.integration.clickpesa_fake import (
    API_KEY,
    CHECKSUM_KEY,
    CLIENT_ID,
    INVALID_REFERENCE,
    FakeClickPesa,
    checksum_of,
    running,
    signed_webhook,
)

pytestmark = pytest.mark.integration

OFFER = GatewayOffer("clickpesa", ("TZS", "USD"), {"TZS": Decimal("1351.36"), "USD": Decimal("0.50")}, demo=False)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


OPENED: list[ClickPesaGateway] = []


@pytest.fixture
def fake() -> Iterator[FakeClickPesa]:
    with running(FakeClickPesa()) as server:
        yield server
    while OPENED:
        OPENED.pop().close()


def gateway_for(
    fake: FakeClickPesa,
    *,
    checksum_key: str | None = CHECKSUM_KEY,
    clock: Clock | None = None,
    timeout: float = 5.0,
    api_key: str = API_KEY,
) -> ClickPesaGateway:
    client = ClickPesaClient(fake.url, CLIENT_ID, api_key, timeout=timeout, clock=clock or time.time)
    gateway = ClickPesaGateway(OFFER, client, ClickPesaWebhooks(CHECKSUM_KEY), checksum_key)
    OPENED.append(gateway)
    return gateway


def order(
    reference: str | None = None,
    amount: str = "25000",
    currency: str = "TZS",
    customer_email: str | None = None,
    customer_name: str | None = None,
) -> CheckoutRequest:
    return CheckoutRequest(
        payment_id=uuid4(),
        reference=reference or f"MC{uuid4().hex[:12].upper()}",
        price=Money.of(amount, currency),
        description="9.25 Mycelium Credits",
        customer_email=customer_email,
        customer_name=customer_name,
    )


def view_of(request: CheckoutRequest) -> PaymentView:
    now = datetime.now(UTC)
    return PaymentView(
        request.payment_id,
        "u" * 64,
        request.reference,
        "clickpesa",
        "pending",
        request.price.amount,
        request.price.currency,
        Decimal("9.25"),
        None,
        now,
        now,
    )


# --- the token -----------------------------------------------------------------------------


def test_one_token_serves_many_checkouts(fake: FakeClickPesa) -> None:
    gateway = gateway_for(fake)
    links = [gateway.initiate_checkout(order()).payment_url for _ in range(5)]

    assert fake.token_calls == 1
    assert len(set(links)) == 5
    token_use = {r.headers["authorization"] for r in fake.received if r.path != "/generate-token"}
    assert len(token_use) == 1 and token_use.pop().startswith("Bearer ")


def test_concurrent_checkouts_share_one_token_fetch(fake: FakeClickPesa) -> None:
    fake.token_delay = 0.3  # every caller arrives while the first fetch is still under way
    gateway = gateway_for(fake)
    with ThreadPoolExecutor(max_workers=8) as pool:
        checkouts = list(pool.map(lambda _: gateway.initiate_checkout(order()), range(16)))

    assert fake.token_calls == 1
    assert len({checkout.payment_url for checkout in checkouts}) == 16


def test_the_token_is_renewed_shortly_before_it_expires(fake: FakeClickPesa) -> None:
    clock = Clock()
    gateway = gateway_for(fake, clock=clock)
    gateway.initiate_checkout(order())
    clock.now += 3600 - 600  # ten minutes left: still good
    gateway.initiate_checkout(order())
    assert fake.token_calls == 1

    clock.now += 300 + 1  # inside the last five minutes: renewed before use
    gateway.initiate_checkout(order())
    gateway.initiate_checkout(order())
    assert fake.token_calls == 2


def test_a_short_lived_token_is_renewed_by_its_exp_claim(fake: FakeClickPesa) -> None:
    fake.token_ttl = 60.0  # renewed a tenth of its life early: 54 s on (the fake checks it by the real time)
    clock = Clock()
    gateway = gateway_for(fake, clock=clock)
    gateway.initiate_checkout(order())
    clock.now += 50
    gateway.initiate_checkout(order())
    assert fake.token_calls == 1

    clock.now += 5
    gateway.initiate_checkout(order())
    assert fake.token_calls == 2


def test_a_401_renews_the_token_once_and_retries(fake: FakeClickPesa) -> None:
    gateway = gateway_for(fake)
    gateway.initiate_checkout(order())
    fake.refuse_next_token_use = True

    checkout = gateway.initiate_checkout(order())

    assert checkout.payment_url.startswith(fake.url)
    assert fake.token_calls == 2
    gateway.initiate_checkout(order())
    assert fake.token_calls == 2


def test_wrong_credentials_are_a_refusal_without_the_secret_in_the_message(fake: FakeClickPesa) -> None:
    gateway = gateway_for(fake, api_key="SKwrongApiKeyValue")
    with pytest.raises(GatewayRefused, match="Invalid or Expired API-Key") as refused:
        gateway.initiate_checkout(order())
    assert "SKwrongApiKeyValue" not in str(refused.value)
    assert fake.checkout_requests == []


# --- the checkout --------------------------------------------------------------------------


def test_the_checkout_body_carries_the_order_and_its_checksum(fake: FakeClickPesa) -> None:
    request = order("MCBODY0001", "12500.50", "TZS", customer_email="asha@example.tz")
    checkout = gateway_for(fake).initiate_checkout(request)

    assert checkout.payment_url == f"{fake.url}/checkout/MCBODY0001"
    assert checkout.checkout_id == "MCBODY0001"
    [body] = fake.checkout_requests
    assert body["totalPrice"] == "12500.50"
    assert body["orderReference"] == "MCBODY0001"
    assert body["orderCurrency"] == "TZS"
    assert body["customerEmail"] == "asha@example.tz"
    assert body["description"] == "9.25 Mycelium Credits"
    assert body["checksum"] == checksum_of(body)


def test_a_non_ascii_customer_name_is_signed_unescaped(fake: FakeClickPesa) -> None:
    request = order(customer_name="Zuhura Ñandú — 张伟", customer_email="zuhura@example.tz")
    gateway_for(fake).initiate_checkout(request)

    [body] = fake.checkout_requests
    assert body["customerName"] == "Zuhura Ñandú — 张伟"
    assert body["checksum"] == checksum_of(body)


def test_without_checksums_no_checksum_is_sent(fake: FakeClickPesa) -> None:
    fake.checksum_key = None
    gateway_for(fake, checksum_key=None).initiate_checkout(order(currency="USD", amount="5.00"))
    [body] = fake.checkout_requests
    assert "checksum" not in body
    assert body["totalPrice"] == "5.00"


def test_a_wrong_checksum_key_is_refused(fake: FakeClickPesa) -> None:
    with pytest.raises(GatewayRefused, match="Invalid checksum"):
        gateway_for(fake, checksum_key="not-the-account-key").initiate_checkout(order())


def test_a_missing_checksum_is_refused_by_an_account_that_requires_one(fake: FakeClickPesa) -> None:
    with pytest.raises(GatewayRefused, match="checksum is required"):
        gateway_for(fake, checksum_key=None).initiate_checkout(order())


def test_a_reused_reference_is_a_refusal(fake: FakeClickPesa) -> None:
    gateway = gateway_for(fake)
    gateway.initiate_checkout(order("MCTWICE0001"))
    with pytest.raises(GatewayRefused, match="409"):
        gateway.initiate_checkout(order("MCTWICE0001"))


@pytest.mark.parametrize("reference", ["MC-DASHED", "MC REF", ""])
def test_a_reference_clickpesa_would_refuse_is_refused_without_a_call(fake: FakeClickPesa, reference: str) -> None:
    with pytest.raises(GatewayRefused, match="letters and digits"):
        gateway_for(fake).initiate_checkout(replace(order(), reference=reference))
    assert fake.received == []


def test_clickpesa_itself_refuses_a_bad_reference(fake: FakeClickPesa) -> None:
    client = ClickPesaClient(fake.url, CLIENT_ID, API_KEY)
    body = {"totalPrice": "1000", "orderReference": "MC_1", "orderCurrency": "TZS"}
    with pytest.raises(GatewayRefused, match=INVALID_REFERENCE):
        client.generate_checkout_url({**body, "checksum": checksum_of(body)})
    client.close()


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, GatewayRefused),
        (403, GatewayRefused),
        (404, GatewayRefused),
        (409, GatewayRefused),
        (429, GatewayUnavailable),
        (500, GatewayUnavailable),
        (502, GatewayUnavailable),
    ],
)
def test_answers_are_translated_into_refusals_or_outages(fake: FakeClickPesa, status: int, kind: type) -> None:
    fake.checkout_error = (status, {"message": "Checkout is not available for this merchant"})
    with pytest.raises(kind, match=f"HTTP {status}"):
        gateway_for(fake).initiate_checkout(order())


def test_clickpesa_down_is_an_outage(fake: FakeClickPesa) -> None:
    fake.down = True
    with pytest.raises(GatewayUnavailable, match="503"):
        gateway_for(fake).initiate_checkout(order())


def test_a_slow_answer_is_an_outage(fake: FakeClickPesa) -> None:
    gateway = gateway_for(fake, timeout=0.2)
    gateway.initiate_checkout(order())
    fake.delay = 1.0
    with pytest.raises(GatewayUnavailable, match="in time"):
        gateway.initiate_checkout(order())


def test_nobody_listening_is_an_outage() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ClickPesaClient(f"http://127.0.0.1:{port}", CLIENT_ID, API_KEY, timeout=2)
    gateway = ClickPesaGateway(OFFER, client, ClickPesaWebhooks(CHECKSUM_KEY), CHECKSUM_KEY)
    with pytest.raises(GatewayUnavailable, match="could not be reached"):
        gateway.initiate_checkout(order())
    gateway.close()


# --- status queries (reconciliation) --------------------------------------------------------


def test_no_payment_yet_is_no_news(fake: FakeClickPesa) -> None:
    gateway = gateway_for(fake)
    request = order()
    gateway.initiate_checkout(request)
    assert gateway.fetch_status(view_of(request)) is None


@pytest.mark.parametrize("status", ["SUCCESS", "SETTLED"])
def test_a_paid_record_is_the_same_event_its_webhook_would_be(fake: FakeClickPesa, status: str) -> None:
    gateway = gateway_for(fake)
    request = order(amount="25000")
    gateway.initiate_checkout(request)
    record = fake.record_payment(request.reference, status)

    event = gateway.fetch_status(view_of(request))
    webhook = gateway.parse_webhook(signed_webhook({"event": "PAYMENT RECEIVED", "data": record}), {})

    assert event is not None
    assert event.outcome is Outcome.PAID
    assert event.paid == Money.of("25000", "TZS")
    assert event.reference == request.reference
    assert event.key == webhook.key == f"clickpesa:{record['id']}:paid"
    assert event.evidence["clickpesa_payment_id"] == record["id"]
    assert event.evidence["payment_reference"] == record["paymentReference"]
    assert event.evidence["source"] == "reconciliation"


def test_a_numeric_collected_amount_is_read_exactly(fake: FakeClickPesa) -> None:
    gateway = gateway_for(fake)
    request = order(amount="12.34", currency="USD")
    gateway.initiate_checkout(request)
    fake.record_payment(request.reference, collectedAmount=12.34, collectedCurrency="USD")
    event = gateway.fetch_status(view_of(request))
    assert event is not None and event.paid == Money.of("12.34", "USD")


def test_a_failed_attempt_then_a_paid_one_is_paid(fake: FakeClickPesa) -> None:
    gateway = gateway_for(fake)
    request = order()
    gateway.initiate_checkout(request)
    fake.record_payment(request.reference, "FAILED")
    assert (event := gateway.fetch_status(view_of(request))) is not None and event.outcome is Outcome.FAILED

    paid = fake.record_payment(request.reference, "SUCCESS")
    event = gateway.fetch_status(view_of(request))
    assert event is not None and event.outcome is Outcome.PAID and event.key == f"clickpesa:{paid['id']}:paid"


@pytest.mark.parametrize("status", ["PROCESSING", "PENDING"])
def test_a_payment_under_way_is_no_news(fake: FakeClickPesa, status: str) -> None:
    gateway = gateway_for(fake)
    request = order()
    gateway.initiate_checkout(request)
    fake.record_payment(request.reference, "FAILED")
    fake.record_payment(request.reference, status)
    assert gateway.fetch_status(view_of(request)) is None


def test_a_failed_record_fails_with_its_message(fake: FakeClickPesa) -> None:
    gateway = gateway_for(fake)
    request = order()
    gateway.initiate_checkout(request)
    record = fake.record_payment(request.reference, "FAILED")
    event = gateway.fetch_status(view_of(request))
    assert event is not None
    assert event.outcome is Outcome.FAILED
    assert event.key == f"clickpesa:{record['id']}:failed"
    assert event.evidence["reason"] == "ClickPesa: Insufficient balance"


def test_a_status_query_also_renews_on_401_and_reports_outages(fake: FakeClickPesa) -> None:
    gateway = gateway_for(fake)
    request = order()
    gateway.initiate_checkout(request)
    fake.refuse_next_token_use = True
    assert gateway.fetch_status(view_of(request)) is None
    assert fake.token_calls == 2

    fake.down = True
    with pytest.raises(GatewayUnavailable):
        gateway.fetch_status(view_of(request))
