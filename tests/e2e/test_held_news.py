"""Money news that may not be applied, in real browsers: a payment paid twice is put before an admin."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.support import Server, checkout, create_key, import_key, snap, status_panel

pytestmark = pytest.mark.e2e


def test_a_payment_paid_twice_is_shown_at_the_desk_and_acknowledged(
    server: Server, page: Page, new_page: NewPage
) -> None:
    create_key(page)
    payment_id = checkout(page, "clickpesa", "10000", "TZS")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    status_panel(page, "confirmed")
    # ClickPesa reports a second payment record for the same order: the payer paid twice.
    paid_again = page.request.post(f"{server.url}/demo/checkout/{payment_id}/pay", max_redirects=0)
    assert paid_again.status == 303
    page.get_by_role("link", name="Back to wallet").click()
    expect(page.locator("#balance")).to_have_text("3.70 MC")  # credited once

    desk = new_page()
    import_key(desk, server.admins[0].seed)
    desk.get_by_role("link", name="Admin desk").click()
    card = desk.locator("article.queue-item").filter(has_text="Gateway news held")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Paid again")
    expect(card).to_contain_text("after the payment was confirmed")
    snap(desk, "12-admin-desk-held-news")
    card.get_by_label(re.compile("What was done")).fill("refunded the second payment through ClickPesa")
    card.get_by_role("button", name="Acknowledge").click()
    expect(desk.locator("#announcer")).to_contain_text("held news acknowledged")
    expect(desk.locator("article.queue-item").filter(has_text="Gateway news held")).to_have_count(0)
