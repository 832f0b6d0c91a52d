"""Long lists in a real browser: the wallet and the admin desk show a first page and "Load more" the rest."""

from __future__ import annotations

import re

import httpx
import pytest
from nacl.signing import SigningKey
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.support import Server, import_key, snap
from tests.integration.support import SignedIn, sign_in

pytestmark = pytest.mark.e2e

TOP_UPS = 53  # a first page holds 50


def paid_top_up(client: httpx.Client, user: SignedIn, amount: str = "1.00") -> None:
    body = {"amount": amount, "currency": "USD", "gateway": "stripe"}
    payment = client.post("/api/payments/initiate", json=body, headers=user.auth).json()
    assert client.post(f"/demo/checkout/{payment['payment_id']}/pay").status_code == 303


def rows(page: Page, table: str) -> list[str]:
    return page.locator(f"#{table} tbody tr").all_inner_texts()


def test_the_wallet_loads_older_payments_and_transactions_on_demand(page: Page, server: Server) -> None:
    key = SigningKey.generate()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        user = sign_in(client, key)
        for _ in range(TOP_UPS):
            paid_top_up(client, user)
        import_key(page, key.encode().hex())
        expect(page.locator("#balance")).to_have_text(re.compile(r"^53\.00 MC$"))
        expect(page.locator("#payments tbody tr")).to_have_count(50)
        expect(page.locator("#transactions tbody tr")).to_have_count(50)
        first_payments = rows(page, "payments")
        paid_top_up(client, user, "2.00")  # a write between pages: it is not repeated or pushed into the list

    page.get_by_role("button", name="Load more payments").click()
    expect(page.locator("#payments tbody tr")).to_have_count(TOP_UPS)
    expect(page.get_by_role("button", name="Load more payments")).to_be_hidden()
    assert rows(page, "payments")[:50] == first_payments
    page.get_by_role("button", name="Load more transactions").click()
    expect(page.locator("#transactions tbody tr")).to_have_count(TOP_UPS)
    expect(page.get_by_role("button", name="Load more transactions")).to_be_hidden()
    balances = [text.split("\t")[-1] for text in rows(page, "transactions")]
    assert balances == [f"{count}.00 MC" for count in range(TOP_UPS, 0, -1)], balances
    snap(page, "wallet-load-more")


def test_the_admin_desk_loads_more_of_the_queue_without_repeating_a_payment(new_page: NewPage, server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        user = sign_in(client, SigningKey.generate())
        for _ in range(TOP_UPS):
            client.post(
                "/api/payments/initiate",
                json={"amount": "1.00", "currency": "USD", "gateway": "stripe"},
                headers=user.auth,
            )
    desk = new_page()
    import_key(desk, server.admins[0].seed)
    desk.get_by_role("link", name="Admin desk").click()
    expect(desk.locator("#queue-count")).to_have_text("50 payments shown, more to load")
    desk.get_by_role("button", name="Load more payments").click()
    expect(desk.locator("#queue-count")).not_to_have_text(re.compile("^50 payments"))
    references = [card.get_attribute("data-reference") for card in desk.locator("article.queue-item").all()]
    assert len(references) > 50 and len(set(references)) == len(references)
    shown = int((desk.locator("#queue-count").inner_text()).split()[0])
    assert shown == len(references)


def test_the_admin_desk_filters_the_queue_by_creation_day(new_page: NewPage, server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        paid_top_up(client, sign_in(client, SigningKey.generate()))
    desk = new_page()
    import_key(desk, server.admins[0].seed)
    desk.get_by_role("link", name="Admin desk").click()
    expect(desk.locator("#queue-count")).to_have_text(re.compile(r"^\d+ payments?"))
    today = desk.evaluate("() => new Date().toLocaleDateString('sv')")  # YYYY-MM-DD in the browser's zone
    tomorrow = desk.evaluate(
        "() => { const d = new Date(); d.setDate(d.getDate() + 1); return d.toLocaleDateString('sv'); }"
    )

    desk.get_by_label("Created from").fill(tomorrow)
    expect(desk.get_by_text("Nothing here.")).to_be_visible()
    desk.get_by_label("Created from").fill(today)
    desk.get_by_label("Created to").fill(today)
    expect(desk.locator("article.queue-item").first).to_be_visible()
    snap(desk, "admin-desk-date-filters")
