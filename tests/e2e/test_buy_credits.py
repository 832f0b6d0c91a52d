"""Buy Credits in a real browser: the dialog, each demo gateway's checkout, and the return page."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import NewPage
from tests.e2e.support import (
    checkout,
    create_key,
    expect_failure,
    fill_order,
    open_buy_dialog,
    snap,
    status_panel,
    submit_order,
)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("gateway", "amount", "currency", "credits"),
    [("stripe", "25.00", "USD", "25.00"), ("clickpesa", "10000", "TZS", "3.70")],
)
def test_buying_credits_through_a_demo_gateway_credits_the_wallet(
    page: Page, gateway: str, amount: str, currency: str, credits: str
) -> None:
    create_key(page)
    open_buy_dialog(page)
    fill_order(page, gateway, amount, currency)
    expect(page.locator("#buy-estimate")).to_contain_text(f"You will receive {credits} MC")
    if gateway == "stripe":
        snap(page, "03-buy-credits-dialog")

    submit_order(page)
    page.wait_for_url(re.compile(r"/demo/checkout/"))
    expect(page.get_by_text(f"Gateway: {gateway}")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()

    page.wait_for_url(re.compile(r"/#/payments/[0-9a-f-]{36}$"))
    status_panel(page, "confirmed")
    expect(page.locator("#payment-status")).to_contain_text(
        f"Payment confirmed: {credits} MC were added to your wallet."
    )
    expect(page.locator("#new-balance")).to_have_text(f"Your balance is now {credits} MC.")
    if gateway == "stripe":
        snap(page, "04-return-confirmed")

    page.get_by_role("link", name="Back to wallet").click()
    expect(page.locator("#balance")).to_have_text(f"{credits} MC")
    expect(page.locator("#payments tbody tr")).to_have_count(1)
    expect(page.locator("#payments tbody tr").first).to_contain_text("Confirmed")
    expect(page.locator("#transactions tbody tr").first).to_contain_text(f"+{credits} MC")
    if gateway == "clickpesa":
        snap(page, "05-wallet-with-history")


def test_a_failed_payment_is_explained_and_credits_nothing(page: Page) -> None:
    create_key(page)
    checkout(page, "stripe", "5.00", "USD")

    page.get_by_role("button", name="Fail").click()

    status_panel(page, "failed")
    expect(page.locator("#payment-status")).to_contain_text("The payment failed")
    expect(page.locator("#payment-status")).to_contain_text("No credits were added")
    expect(page.get_by_role("button", name="Buy Credits again")).to_be_visible()
    snap(page, "06-return-failed")
    page.get_by_role("link", name="Back to wallet").click()
    expect(page.locator("#balance")).to_have_text("0.00 MC")
    expect(page.locator("#payments tbody tr").first).to_contain_text("Failed")


def test_a_cancelled_checkout_is_explained_and_can_be_opened_again(page: Page) -> None:
    create_key(page)
    payment_id = checkout(page, "stripe", "5.00", "USD")

    page.goto(f"/#/payments/{payment_id}?checkout=cancelled")  # where Stripe's cancel_url lands

    status_panel(page, "pending")
    expect(page.locator("#payment-status")).to_contain_text("You left the checkout without paying")
    page.get_by_role("link", name="Return to checkout").click()
    page.wait_for_url(re.compile(rf"/demo/checkout/{payment_id}$"))
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    status_panel(page, "confirmed")


def test_an_amount_outside_the_gateways_limits_is_refused_in_place_before_anything_is_sent(page: Page) -> None:
    """The limits are the gateways answer's (`min_amount`, `max_amount`, `digits`): the dialog asks no one else."""
    initiated: list[str] = []
    page.on(
        "request", lambda request: initiated.extend([request.url] if "/api/payments/initiate" in request.url else [])
    )
    create_key(page)
    open_buy_dialog(page)
    amount = page.get_by_label("Amount")

    fill_order(page, "stripe", "0.10", "USD")
    submit_order(page)

    expect(page.locator("#buy-amount-error")).to_have_text("The minimum with Card (Stripe) is 0.50 USD.")
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(amount).to_be_focused()
    snap(page, "07-buy-credits-below-minimum")

    fill_order(page, "bank", "999.99", "USD")
    expect(page.locator("#buy-amount-hint")).to_have_text("Minimum 1,000.00 USD with Bank transfer.")
    submit_order(page)
    expect(page.locator("#buy-amount-error")).to_have_text("The minimum with Bank transfer is 1,000.00 USD.")

    fill_order(page, "stripe", "1000000.00", "USD")
    expect(page.locator("#buy-amount-hint")).to_contain_text("maximum 999,999.99 USD")
    submit_order(page)
    expect(page.locator("#buy-amount-error")).to_have_text("The maximum with Card (Stripe) is 999,999.99 USD.")

    amount.fill("12.345")
    expect(page.locator("#buy-amount-error")).to_have_text("USD amounts have at most 2 decimal places.")
    amount.fill("ten")
    expect(page.locator("#buy-amount-error")).to_contain_text("Enter the amount as a number")
    assert initiated == []


def test_a_currencys_decimal_places_are_the_ones_the_api_states(page: Page) -> None:
    """JPY has none (the served CREDIT_RATES name it): the dialog knows that only from the gateways answer."""
    create_key(page)
    open_buy_dialog(page)

    fill_order(page, "stripe", "100.5", "JPY")
    expect(page.locator("#buy-amount-error")).to_have_text("JPY amounts are whole numbers.")
    expect(page.locator("#buy-estimate")).to_have_text("")

    page.get_by_label("Amount").fill("100")
    expect(page.locator("#buy-amount-error")).to_have_text("")
    expect(page.locator("#buy-estimate")).to_contain_text("You will receive 0.67 MC")


def order_with_initiate_answered_by(page: Page, answer: Callable[[Route], None], status: int) -> None:
    """Order 5.00 USD through Stripe with `answer` in the service's place: it answers `status` (on purpose)."""
    create_key(page)
    page.route("**/api/payments/initiate", answer)
    expect_failure(page, status, r"/api/payments/initiate")
    open_buy_dialog(page)
    fill_order(page, "stripe", "5.00", "USD")
    submit_order(page)


@pytest.mark.parametrize(
    ("kind", "detail", "shown_at"),
    [
        ("invalid-amount", "amount: refused for a reason the dialog could not know", "#buy-amount-error"),
        ("invalid", "the minimum amount for stripe is now 0.75 USD", "#buy-error"),
    ],
)
def test_a_refusal_is_shown_where_its_problem_type_says_not_where_its_words_suggest(
    page: Page, kind: str, detail: str, shown_at: str
) -> None:
    problem = {"type": f"/problems/{kind}", "title": "Refused", "status": 422, "detail": detail}

    def refuse(route: Route) -> None:
        route.fulfill(status=422, headers={"Content-Type": "application/problem+json"}, body=json.dumps(problem))

    order_with_initiate_answered_by(page, refuse, 422)

    sentence = detail[0].upper() + detail[1:] + "."
    expect(page.locator(shown_at)).to_have_text(sentence)
    other = "#buy-error" if shown_at == "#buy-amount-error" else "#buy-amount-error"
    expect(page.locator(other)).to_have_text("")
    expect(page.get_by_role("button", name="Continue to payment")).to_be_enabled()


def test_the_dialog_is_keyboard_operable_and_gives_focus_back(page: Page) -> None:
    create_key(page)
    opener = page.get_by_role("button", name="Buy Credits")
    opener.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Amount")).to_be_focused()

    for _ in range(12):  # Tab never leaves the open modal
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('buy-dialog').contains(document.activeElement)")

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Buy Credits")).to_have_count(0)
    expect(opener).to_be_focused()


def test_another_users_payment_is_not_shown(page: Page, new_page: NewPage) -> None:
    create_key(page)
    payment_id = checkout(page, "stripe", "5.00", "USD")
    stranger = new_page()
    expect_failure(stranger, 404, rf"/api/payments/{payment_id}")
    create_key(stranger)

    stranger.goto(f"/#/payments/{payment_id}")

    expect(stranger.get_by_role("heading", name="Payment not available")).to_be_visible()
    expect(stranger.get_by_role("alert")).to_have_text(
        "There is no such payment for this key. It may belong to another key, or the link is wrong."
    )


def test_a_checkout_still_opening_is_waited_for_then_the_payer_is_taken_to_it(page: Page) -> None:
    """The first answer is what the service says while an earlier attempt with the key still opens the checkout."""
    keys: list[str | None] = []
    in_progress = {
        "type": "/problems/checkout-in-progress",
        "title": "Checkout still being opened",
        "status": 409,
        "detail": "the first request with this Idempotency-Key is still opening the checkout; send it again",
    }

    def first_still_opening(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) > 1:
            route.continue_()
            return
        headers = {"Retry-After": "2", "Content-Type": "application/problem+json"}
        route.fulfill(status=409, headers=headers, body=json.dumps(in_progress))

    order_with_initiate_answered_by(page, first_still_opening, 409)

    expect(page.locator("#buy-dialog button[type=submit]")).to_have_text("Checkout still opening, trying again in 2 s…")
    page.wait_for_url(re.compile(r"/demo/checkout/"))
    expect(page.get_by_text("Gateway: stripe")).to_be_visible()
    assert len(keys) == 2 and keys[0] is not None and keys[0] == keys[1]
