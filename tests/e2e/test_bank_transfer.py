"""A bank transfer in real browsers: the user's instructions page, and admins at the desk in another browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.support import (
    Admin,
    Server,
    create_key,
    expect_failure,
    fill_order,
    import_key,
    open_buy_dialog,
    snap,
    status_panel,
    submit_order,
)

pytestmark = pytest.mark.e2e


def start_bank_transfer(page: Page, amount: str = "1000.00", seed: str | None = None) -> str:
    """A new user (or the owner of `seed`) orders a bank transfer; answers its reference, from the instructions page."""
    if seed is None:
        create_key(page)
    else:
        import_key(page, seed)
    open_buy_dialog(page)
    fill_order(page, "bank", amount, "USD")
    submit_order(page)
    page.wait_for_url(re.compile(r"/#/bank/[0-9a-f-]{36}$"))
    status_panel(page, "pending")
    reference = page.locator("[data-field=reference]").inner_text()
    assert re.fullmatch(r"[A-Z0-9]+", reference)
    return reference


def desk_card(desk: Page, reference: str) -> Locator:
    return desk.locator(f"article[data-reference={reference}]")


def sign_in_as(desk: Page, admin: Admin) -> None:
    if desk.get_by_role("button", name="Sign out").is_visible():
        desk.get_by_role("button", name="Sign out").click()
        expect(desk.get_by_role("heading", name="Sign in to your wallet")).to_be_visible()
    import_key(desk, admin.seed)
    desk.get_by_role("link", name="Admin desk").click()
    expect(desk.get_by_role("heading", name="Admin desk")).to_be_visible()


def confirm(card: Locator, amount: str, note: str = "", credit_received: bool = False) -> None:
    card.get_by_label(re.compile("^(Received amount|Amount to credit)$")).fill(amount)
    if note:
        card.get_by_label(re.compile("^Note")).fill(note)
    if credit_received:
        card.get_by_label(re.compile("Credit the received amount")).check()
    card.get_by_role("button", name="Confirm").click()


def test_a_bank_transfer_credits_once_two_admins_confirmed_it(server: Server, page: Page, new_page: NewPage) -> None:
    reads: list[str] = []
    page.on("request", lambda request: reads.append(request.url) if request.method == "GET" else None)
    reference = start_bank_transfer(page)
    details = page.locator(".details.copyable")
    expect(details).to_contain_text("Demo Bank of Zanzibar")
    expect(details).to_contain_text("0150123456789")
    expect(details).to_contain_text("DEMOTZTZ")
    expect(details).to_contain_text("1000.00 USD")
    expect(page.locator("#payment-status")).to_contain_text("Waiting for admin confirmation")
    page.get_by_role("button", name="Copy reference").click()
    expect(page.get_by_role("button", name="Copy reference")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == reference
    snap(page, "08-bank-transfer-waiting")

    desk = new_page()
    first, second = server.admins
    sign_in_as(desk, first)
    desk.get_by_label("Method").select_option("bank")
    with desk.expect_response(lambda response: "status=pending" in response.url and "gateway=bank" in response.url):
        desk.get_by_label("Status").select_option("pending")
    card = desk_card(desk, reference)
    expect(card).to_contain_text("Awaiting admin")
    expect(card).to_contain_text("Confirmations: 0 of 2 required")
    confirm(card, "1000.00", note="statement line 14")
    expect(card).to_contain_text("Confirmations: 1 of 2 required")
    expect(card).to_contain_text("(you): received 1,000.00 USD")
    expect(card).to_contain_text("statement line 14")
    snap(desk, "09-admin-desk-one-of-two")
    expect(page.locator("#payment-status")).to_have_attribute("data-status", "pending")

    sign_in_as(desk, second)
    card = desk_card(desk, reference)
    expect(card).to_contain_text("Confirmations: 1 of 2 required")
    confirm(card, "1000.00")

    status_panel(page, "confirmed")  # the user's page changes by itself
    payment_reads = [url for url in reads if re.search(r"/api/payments/[0-9a-f-]{36}(/events)?$", url)]
    assert len(payment_reads) == 2, "read once, then followed through the event stream (no polling)"
    assert payment_reads[1].endswith("/events")
    expect(page.locator("#payment-status")).to_contain_text("Payment confirmed: 1,000.00 MC were added")
    expect(page.locator("#new-balance")).to_have_text("Your balance is now 1,000.00 MC.")
    snap(page, "10-bank-transfer-confirmed")
    desk.get_by_label("Status").select_option("confirmed")
    expect(desk_card(desk, reference)).to_contain_text("Confirmed")
    expect(desk_card(desk, reference).get_by_role("button", name="Confirm")).to_have_count(0)


def test_without_the_event_stream_the_page_polls_and_shows_a_rejection(
    server: Server, page: Page, new_page: NewPage
) -> None:
    expect_failure(page, 404, r"/api/payments/[0-9a-f-]{36}/events")
    page.route(re.compile(r"/api/payments/[0-9a-f-]{36}/events"), lambda route: route.fulfill(status=404))
    reference = start_bank_transfer(page)
    desk = new_page()
    sign_in_as(desk, server.admins[0])

    card = desk_card(desk, reference)
    card.get_by_label("Reason for rejecting").fill("no such transfer on the statement")
    card.get_by_role("button", name="Reject").click()

    status_panel(page, "rejected")
    expect(page.locator("#payment-status")).to_contain_text(
        "An admin rejected this transfer (no such transfer on the statement). No credits were added."
    )


def test_a_different_amount_goes_to_review_and_admins_resolve_it(server: Server, page: Page, new_page: NewPage) -> None:
    reference = start_bank_transfer(page)
    desk = new_page()
    first, second = server.admins
    sign_in_as(desk, first)

    confirm(desk_card(desk, reference), "900.00")
    card = desk_card(desk, reference)
    expect(card).to_contain_text("Under review")
    status_panel(page, "needs_review")
    expect(page.locator("#payment-status")).to_contain_text("An admin will review it")
    snap(desk, "11-admin-desk-needs-review")

    confirm(card, "900.00", note="customer sent 900, agreed by phone")
    expect(card).to_contain_text("Confirmations: 1 of 2 required")
    sign_in_as(desk, second)
    confirm(desk_card(desk, reference), "900.00", note="checked the statement")

    status_panel(page, "confirmed")
    expect(page.locator("#new-balance")).to_have_text("Your balance is now 900.00 MC.")


def test_an_admin_is_told_their_own_transfer_needs_another_admin(server: Server, page: Page) -> None:
    admin = server.admins[0]
    reference = start_bank_transfer(page, seed=admin.seed)
    page.get_by_role("link", name="Admin desk").click()
    card = desk_card(page, reference)
    expect(card).to_contain_text("This is your own payment: another admin must confirm it.")

    expect_failure(page, 409, r"/api/admin/payments/[0-9a-f-]{36}/confirm")
    confirm(card, "1000.00", note="my own transfer")
    expect(card.get_by_role("alert")).to_contain_text("never approves money for their own wallet")
    expect(card).to_contain_text("Confirmations: 0 of 2 required")
    snap(page, "12-admin-desk-own-payment-refused")
