"""Spending in a real browser: the Pay dialog signs with the kept key, the receipt is verified in the page,
the spend shows in the wallet, every refusal is explained, and the admin desk shows what payees were paid."""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from nacl.signing import VerifyKey
from playwright.sync_api import Page, Request, Route, expect

from adapters.stripe.simulator import sign as stripe_signature
from domain.canonical import canonical_json
from domain.money import Money
from domain.spend import SpendOrder
from tests.e2e.conftest import NewPage
from tests.e2e.support import (
    UUID,
    Server,
    buy_credits,
    create_key,
    expect_failure,
    fill_spend,
    import_key,
    open_pay_dialog,
    pay,
    snap,
    submit_spend,
)

pytestmark = pytest.mark.e2e
SPENDS = "/api/wallet/spends"
MEMO = 'Oyster mushroom kit "L", größe ½ \\ 🍄'  # quotes, a backslash and non-ASCII: signed byte for byte


def spend_bodies(page: Page) -> list[dict[str, Any]]:
    """Every body the page POSTs to the spends endpoint, in order."""
    bodies: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith(SPENDS):
            bodies.append(json.loads(request.post_data or "{}"))

    page.on("request", record)
    return bodies


def payer(page: Page, credits: str, refused: int | None = None) -> str:
    """A new user with `credits` MC bought, whose spends may be refused with `refused` on purpose."""
    if refused is not None:
        expect_failure(page, refused, SPENDS)
    user_id = create_key(page)
    buy_credits(page, credits)
    return user_id


def payee_name(label: str) -> str:
    """A payee of this test alone: the server, and so every payee balance, is shared by the whole session."""
    return f"{label}-{secrets.token_hex(4)}"


def assert_signed_by(user_id: str, body: dict[str, Any]) -> None:
    """The browser signed exactly the message API.md defines, by the user's key (checked with pynacl)."""
    order = SpendOrder(
        user_id, body["payee"], body["order_id"], Money(Decimal(body["amount"]), "MC"), body["memo"], body["signed_at"]
    )
    VerifyKey(bytes.fromhex(user_id)).verify(order.message(), bytes.fromhex(body["signature"]))
    assert re.fullmatch(r"\d+\.\d{2}", body["amount"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["signed_at"])
    signed = datetime.fromisoformat(body["signed_at"])
    assert abs(datetime.now(UTC) - signed) < timedelta(minutes=1)


def test_paying_signs_in_the_browser_and_shows_a_verified_receipt_and_the_spend(server: Server, page: Page) -> None:
    user_id = payer(page, "25.00")
    expect(page.locator("#balance")).to_have_text("25.00 MC")
    bodies = spend_bodies(page)
    payee = payee_name("mushroom-shop")

    open_pay_dialog(page)
    order_id = page.get_by_label("Order id").input_value()
    assert re.fullmatch(rf"order-{UUID}", order_id)
    fill_spend(page, payee, "7.5", memo=MEMO)
    snap(page, "20-pay-dialog")
    submit_spend(page)

    dialog = page.get_by_role("dialog", name=f"Paid 7.50 MC to {payee}")
    expect(dialog).to_be_visible()
    receipt = dialog.locator("#receipt")
    expect(receipt.locator("[data-field=payee]")).to_have_text(payee)
    expect(receipt.locator("[data-field=order_id]")).to_have_text(order_id)
    expect(receipt.locator("[data-field=amount]")).to_have_text("7.50 MC")
    expect(receipt.locator("[data-field=memo]")).to_have_text(MEMO)
    expect(receipt.locator("[data-field=balance_after]")).to_have_text("17.50 MC")
    dialog.get_by_role("button", name="Verify receipt").click()
    ledger_key = httpx.get(f"{server.url}/api/ledger/public-key").json()["public_key"]
    expect(dialog.locator("#receipt-verified")).to_have_text(
        f"Receipt verified: the ledger's key {ledger_key} signed this spend."
    )
    snap(page, "21-pay-receipt-verified")

    assert len(bodies) == 1
    assert bodies[0]["payee"] == payee and bodies[0]["order_id"] == order_id and bodies[0]["amount"] == "7.50"
    assert_signed_by(user_id, bodies[0])
    spend_id = receipt.locator("[data-field=spend_id]").inner_text()
    signature = receipt.locator("[data-field=signature]").inner_text()
    signed = {
        "spend_id": spend_id, "order_id": order_id, "payee": payee, "amount": "7.50", "currency": "MC",
        "user_id": user_id, "at": receipt.locator("[data-field=at]").get_attribute("datetime"),
    }  # fmt: skip
    VerifyKey(bytes.fromhex(ledger_key)).verify(canonical_json(signed).encode(), bytes.fromhex(signature))

    dialog.get_by_role("button", name="Done").click()
    expect(page.locator("#balance")).to_have_text("17.50 MC")
    row = page.locator("#transactions tbody tr").first
    expect(row).to_have_attribute("data-type", "spend")
    for text in ("Payment", payee, order_id, "Oyster mushroom kit", "\u22127.50 MC", "17.50 MC"):  # a minus sign
        expect(row).to_contain_text(text)
    expect(page.locator("#pay")).to_be_enabled()
    snap(page, "22-wallet-with-a-spend")

    row.get_by_role("link", name=payee).click()
    page.wait_for_url(re.compile(rf"/#/spends/{spend_id}$"))
    expect(page.get_by_role("heading", name=f"Paid 7.50 MC to {payee}")).to_be_visible()
    page.get_by_role("button", name="Verify receipt").click()
    expect(page.locator("#receipt-verified")).to_contain_text("Receipt verified")


@pytest.mark.parametrize(
    ("forgery", "reason"),
    [
        ({"amount": "0.50"}, "the signed amount is not the spend's"),
        ({"amount": "0.50", "signed": {"amount": "0.50"}}, "the signature does not verify"),
        ({"receipt": {"public_key": "ab" * 32}}, "the receipt names another key than the ledger's"),
    ],
)
def test_verify_receipt_catches_a_receipt_changed_on_the_way(page: Page, forgery: dict[str, Any], reason: str) -> None:
    payer(page, "5.00")
    pay(page, payee_name("market"), "2.00")
    spend_id = page.locator("#receipt [data-field=spend_id]").inner_text()
    page.get_by_role("button", name="Done").click()

    def forge(route: Route) -> None:
        spend = route.fetch().json()
        spend["amount"] = forgery.get("amount", spend["amount"])
        spend["receipt"]["signed"].update(forgery.get("signed", {}))
        spend["receipt"].update(forgery.get("receipt", {}))
        route.fulfill(json=spend)

    page.route(f"**{SPENDS}/{spend_id}", forge)
    page.locator(f"#transactions tr[data-spend-id='{spend_id}']").get_by_role("link").click()
    page.get_by_role("button", name="Verify receipt").click()
    expect(page.locator("#receipt-verified")).to_have_text(f"This receipt does not verify: {reason}.")
    expect(page.locator("#receipt-verified")).to_have_attribute("data-valid", "false")


def test_paying_more_than_the_balance_says_not_enough_credits_and_sends_the_same_body_again(page: Page) -> None:
    payer(page, "3.00", refused=422)
    bodies = spend_bodies(page)

    pay(page, payee_name("bakery"), "5")
    error = page.locator("#pay-error")
    expect(error).to_have_text(
        "Not enough credits: your balance is 3.00 MC and this payment is 5.00 MC, so nothing was paid."
    )
    snap(page, "23-pay-not-enough-credits")
    submit_spend(page)
    expect(page.get_by_role("button", name="Sign and pay")).to_be_enabled()
    expect(error).to_contain_text("Not enough credits")

    assert len(bodies) == 2 and bodies[0] == bodies[1]  # the same dialog sends the same signed spend
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("button", name="Pay", exact=True)).to_be_focused()
    expect(page.locator("#balance")).to_have_text("3.00 MC")
    expect(page.locator("#transactions tbody tr[data-type=spend]")).to_have_count(0)


def test_answers_lost_on_the_way_back_are_retried_with_the_same_body_and_pay_once(page: Page) -> None:
    payer(page, "10.00", refused=503)
    bodies = spend_bodies(page)
    lost: list[int] = []

    def lose_two_answers(route: Route) -> None:
        answer = route.fetch()  # the service records the spend (then finds it again)...
        if len(lost) == 2:
            route.fulfill(response=answer)
            return
        lost.append(answer.status)
        route.fulfill(status=503, json={"title": "proxy timed out"})  # ...but the payer never hears so

    page.route(f"**{SPENDS}", lose_two_answers)
    payee = payee_name("tea-house")
    pay(page, payee, "4.00")
    expect(page.locator("#pay-error")).to_contain_text("The payment may not have reached the service")
    submit_spend(page)  # the same dialog again: the same body
    expect(page.locator("#pay-error")).to_contain_text("The payment may not have reached the service")
    page.get_by_role("button", name="Cancel").click()

    open_pay_dialog(page)  # later: the spend whose answer was lost is offered again, as it was signed
    expect(page.locator("#pay-unanswered")).to_contain_text("The answer to your last payment was lost on the way")
    expect(page.get_by_label("Payee")).to_have_value(payee)
    expect(page.get_by_label("Order id")).to_have_value(bodies[0]["order_id"])
    submit_spend(page)

    expect(page.get_by_role("dialog", name=f"Paid 4.00 MC to {payee}")).to_be_visible()
    assert lost == [201, 200]
    assert len(bodies) == 3 and bodies[0] == bodies[1] == bodies[2]
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#balance")).to_have_text("6.00 MC")
    expect(page.locator("#transactions tbody tr[data-type=spend]")).to_have_count(1)


def test_an_order_id_used_again_for_another_amount_is_refused_with_the_409_message(page: Page) -> None:
    payer(page, "10.00", refused=409)
    payee = payee_name("bookshop")
    order_id = f"order-{secrets.token_hex(6)}"
    pay(page, payee, "2.00", order_id=order_id)
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#balance")).to_have_text("8.00 MC")

    pay(page, payee, "3.00", order_id=order_id)

    expect(page.locator("#pay-error")).to_have_text(
        f"Order id {order_id} was already used with {payee} for a different payment, so nothing was paid. "
        "Use another order id."
    )
    expect(page.locator("#pay-order-error")).to_have_text("Already used for a different payment.")
    snap(page, "24-pay-order-already-used")
    page.get_by_role("button", name="New order id").click()
    assert page.get_by_label("Order id").input_value() != order_id
    submit_spend(page)
    expect(page.get_by_role("dialog", name=f"Paid 3.00 MC to {payee}")).to_be_visible()


def test_a_signature_that_does_not_cover_the_sent_amount_is_refused(page: Page) -> None:
    payer(page, "10.00", refused=422)

    def change_the_amount(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        route.continue_(post_data=json.dumps({**body, "amount": "1.00"}))

    page.route(f"**{SPENDS}", change_the_amount)
    pay(page, payee_name("garage"), "2.00")

    expect(page.locator("#pay-error")).to_contain_text("The signature was refused")
    expect(page.locator("#pay-error")).to_have_attribute("data-problem", "bad-signature")


def test_a_clock_minutes_behind_is_told_as_a_stale_signature(page: Page) -> None:
    payer(page, "10.00", refused=422)
    page.clock.set_system_time(datetime.now(UTC) - timedelta(minutes=10))
    pay(page, payee_name("clockmaker"), "1.00")

    expect(page.locator("#pay-error")).to_contain_text("Your device's clock is off (the service's time is ")
    expect(page.locator("#pay-error")).to_have_attribute("data-problem", "stale-signature")


def test_the_desk_shows_what_a_payee_was_paid(server: Server, page: Page, new_page: NewPage) -> None:
    payer(page, "20.00")
    payee = payee_name("desk-cafe")
    for amount in ("4.00", "2.50"):
        pay(page, payee, amount)
        page.get_by_role("button", name="Done").click()
    expect(page.locator("#balance")).to_have_text("13.50 MC")

    desk = new_page()
    import_key(desk, server.admins[0].seed)
    desk.get_by_role("link", name="Admin desk").click()
    row = desk.locator(f"#payees tbody tr[data-payee='{payee}']")
    expect(row.locator("td[data-label=Balance]")).to_have_text("6.50 MC")
    expect(row.locator("td[data-label=Spends]")).to_have_text("2")
    expect(desk.locator("#debts-list")).to_be_visible()
    desk.get_by_role("button", name="Payee balances").click()
    expect(desk.get_by_role("heading", name="Payee balances")).to_be_focused()
    expect(row).to_be_in_viewport()
    snap(desk, "25-admin-desk-payees")


def refund_at_stripe(server: Server, reference: str, cents: int) -> None:
    """Stripe tells of a full refund of the demo card payment with `reference`, signed as Stripe signs."""
    charge = {
        "id": f"ch_demo_{reference}", "object": "charge", "amount": cents, "amount_refunded": cents,
        "currency": "usd", "payment_intent": f"pi_demo_{reference}",
    }  # fmt: skip
    event = {"id": f"evt_refund_{reference}", "object": "event", "type": "charge.refunded",
             "created": int(datetime.now(UTC).timestamp()), "livemode": False, "data": {"object": charge}}  # fmt: skip
    body = json.dumps(event).encode()
    headers = {"Stripe-Signature": stripe_signature(body, server.stripe_webhook_secret)}
    answer = httpx.post(f"{server.url}/api/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 200, answer.text


def test_a_refund_of_credits_already_spent_shows_a_debt_that_the_next_top_up_pays(
    server: Server, page: Page, new_page: NewPage
) -> None:
    user_id = create_key(page)
    payment_id = buy_credits(page, "10.00")
    reference = page.locator(f"#payments tbody tr[data-payment-id='{payment_id}'] a").inner_text()
    pay(page, payee_name("florist"), "8.00")
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#balance")).to_have_text("2.00 MC")

    refund_at_stripe(server, reference, 1000)
    page.reload()

    expect(page.locator("#balance")).to_have_text("-8.00 MC")
    expect(page.locator("#debt")).to_contain_text("You owe 8.00 MC: your next top-up pays it first.")
    expect(page.locator("#pay")).to_be_disabled()
    snap(page, "26-wallet-in-debt")

    desk = new_page()
    import_key(desk, server.admins[1].seed)
    desk.get_by_role("link", name="Admin desk").click()
    expect(desk.locator(f"#debts tbody tr[data-user-id='{user_id}'] td[data-label=Owes]")).to_have_text("8.00 MC")

    buy_credits(page, "10.00")
    expect(page.locator("#balance")).to_have_text("2.00 MC")
    expect(page.locator("#debt")).to_have_count(0)
    expect(page.locator("#pay")).to_be_enabled()


def test_a_service_without_a_receipt_key_says_spending_is_off(page: Page) -> None:
    """The answer a live deployment without LEDGER_SIGNING_KEY gives (ADR 47); the demo server always has a key,
    so it is put in place of the server's answer here."""
    payer(page, "5.00", refused=503)
    problem = {"type": "/problems/signing-key-missing", "title": "No ledger signing key", "status": 503}
    page.route(f"**{SPENDS}", lambda route: route.fulfill(status=503, json=problem))
    pay(page, payee_name("bakery"), "1.00")

    expect(page.locator("#pay-error")).to_have_text(
        "Spending is switched off on this service: it has no key to sign receipts with, so nothing was paid. "
        "Tell the service's operator."
    )
    page.get_by_role("button", name="Cancel").click()
    open_pay_dialog(page)
    expect(page.locator("#pay-unanswered")).to_have_count(0)  # nothing is left to send again
