"""Keypair sign-in in a real browser: a key made and kept by the browser, its backup, sessions that survive."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.support import create_key, expect_failure, import_key, signed_in_key, snap

pytestmark = pytest.mark.e2e


def test_a_new_key_is_made_in_the_browser_and_backed_up_once(page: Page, new_page: NewPage) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in to your wallet")).to_be_visible()
    snap(page, "01-sign-in")

    public_key = create_key(page)

    assert re.fullmatch(r"[0-9a-f]{64}", public_key)
    expect(page.get_by_role("heading", name="Back up your key now")).to_be_visible()
    snap(page, "02-wallet-new-key")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download key backup").click()
    backup = Path(download.value.path()).read_text()
    [seed] = re.findall(r"^[0-9a-f]{64}$", backup, flags=re.MULTILINE)
    assert f"# public key: {public_key}" in backup
    page.get_by_role("button", name="I have saved it").click()
    expect(page.get_by_role("heading", name="Back up your key now")).to_have_count(0)
    expect(page.get_by_role("button", name="Buy Credits")).to_be_focused()

    elsewhere = new_page()
    assert import_key(elsewhere, seed) == public_key


def test_the_key_is_locked_in_indexeddb(page: Page) -> None:
    create_key(page)

    stored = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const opening = indexedDB.open("mcpay");
            opening.onsuccess = () => {
              const read = opening.result.transaction("keys").objectStore("keys").get("current");
              read.onsuccess = () => resolve({
                type: read.result.privateKey.constructor.name,
                extractable: read.result.privateKey.extractable,
                usages: read.result.privateKey.usages,
              });
              read.onerror = () => reject(read.error);
            };
          })"""
    )

    assert stored == {"type": "CryptoKey", "extractable": False, "usages": ["sign"]}


def test_a_reload_keeps_the_session_and_an_expired_token_is_signed_again(page: Page, new_page: NewPage) -> None:
    public_key = create_key(page)
    challenges: list[str] = []
    page.on("request", lambda request: challenges.append(request.url) if "/api/auth/challenge" in request.url else None)

    page.reload()
    expect(page.locator("#balance")).to_have_text("0.00 MC")
    assert signed_in_key(page) == public_key
    assert challenges == [], "a reload reuses the session token of this tab"

    expect_failure(page, 401, r"/api/.*")
    page.evaluate(
        """() => {
            const kept = JSON.parse(sessionStorage.getItem("mcpay.session"));
            sessionStorage.setItem("mcpay.session", JSON.stringify({...kept, token: "expired.or.revoked"}));
        }"""
    )
    page.reload()
    expect(page.locator("#balance")).to_have_text("0.00 MC")
    assert len(challenges) == 1, "a refused token is replaced by signing a new challenge with the kept key"

    second_tab = page.context.new_page()
    second_tab.goto("/")
    expect(second_tab.locator("#balance")).to_have_text("0.00 MC")
    assert signed_in_key(second_tab) == public_key
    second_tab.close()


def test_signing_out_keeps_the_key_unless_asked_to_forget_it(page: Page) -> None:
    public_key = create_key(page)

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("heading", name="Your saved key")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    page.reload()
    expect(page.get_by_role("heading", name="Your saved key")).to_be_visible()
    page.get_by_role("button", name="Sign in with this key").click()
    expect(page.locator("#balance")).to_have_text("0.00 MC")
    assert signed_in_key(page) == public_key

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Forget this key…").click()
    page.get_by_role("button", name="Yes, forget this key").click()
    expect(page.get_by_role("heading", name="Your saved key")).to_have_count(0)
    page.reload()
    expect(page.get_by_role("button", name="Create a new key")).to_be_visible()
    expect(page.get_by_role("heading", name="Your saved key")).to_have_count(0)


def test_an_import_that_is_not_a_key_is_refused_inline(page: Page) -> None:
    page.goto("/")
    page.get_by_label("Private key").fill("not a key")
    page.get_by_role("button", name="Import and sign in").click()

    expect(page.locator("#import-error")).to_have_text("Enter the 64 hex digits of a private key.")
    expect(page.get_by_label("Private key")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Private key")).to_be_focused()


def test_a_non_admin_sees_no_admin_desk(page: Page) -> None:
    create_key(page)

    expect(page.get_by_role("link", name="Admin desk")).to_be_hidden()
    page.goto("/#/admin")
    expect(page.get_by_text("This key is not an admin's key.")).to_be_visible()
