"""What the browser tests share: the server under test, console watching, and steps a person takes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Page, Response, ViewportSize, expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
PHONE: ViewportSize = {"width": 360, "height": 740}
UUID = r"[0-9a-f-]{36}"
FAILED_RESOURCE = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")


@dataclass(frozen=True)
class Admin:
    seed: str
    public_key: str


@dataclass(frozen=True)
class Server:
    url: str
    admins: tuple[Admin, Admin]
    stripe_webhook_secret: str


@dataclass
class ConsoleWatch:
    """Console errors, uncaught page errors and failed responses of one page."""

    console_errors: list[tuple[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_responses: list[tuple[int, str]] = field(default_factory=list)
    expected: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)

    @classmethod
    def on(cls, page: Page) -> ConsoleWatch:
        watch = cls()
        page.on("console", watch._console)
        page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
        page.on("response", watch._response)
        _WATCHES[id(page)] = watch
        return watch

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append((message.text, message.location.get("url", "")))

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.failed_responses.append((response.status, response.url))

    def _is_expected(self, status: int, url: str) -> bool:
        path = urlsplit(url).path
        return any(status == code and pattern.fullmatch(path) for code, pattern in self.expected)

    def unexpected(self) -> list[str]:
        problems = [f"uncaught error: {error}" for error in self.page_errors]
        problems += [
            f"unexpected {status} from {url}"
            for status, url in self.failed_responses
            if not self._is_expected(status, url)
        ]
        for text, url in self.console_errors:
            failed = FAILED_RESOURCE.match(text)
            if not (failed and self._is_expected(int(failed[1]), url)):
                problems.append(f"console error: {text} ({url})")
        return problems


_WATCHES: dict[int, ConsoleWatch] = {}


def expect_failure(page: Page, status: int, path: str) -> None:
    """The test provokes this error answer on purpose (a path regex): it is no console error to report."""
    _WATCHES[id(page)].expected.append((status, re.compile(path)))


def snap(page: Page, name: str) -> None:
    """Screenshots for review: desktop, then phone width (360 px)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    desktop = page.viewport_size
    page.screenshot(path=ARTIFACTS / f"{name}-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], f"{name} scrolls sideways"
    page.screenshot(path=ARTIFACTS / f"{name}-phone.png", full_page=True)
    if desktop is not None:
        page.set_viewport_size(desktop)


def create_key(page: Page) -> str:
    """Sign up: a new key made in the browser. Answers its public key."""
    page.goto("/")
    page.get_by_role("button", name="Create a new key").click()
    expect(page.locator("#balance")).to_have_text("0.00 MC")
    return signed_in_key(page)


def import_key(page: Page, seed: str) -> str:
    page.goto("/")
    page.get_by_label("Private key").fill(seed)
    page.get_by_role("button", name="Import and sign in").click()
    expect(page.locator("#balance")).to_have_text(re.compile(r"MC$"))
    return signed_in_key(page)


def signed_in_key(page: Page) -> str:
    title = page.locator("#account-key").get_attribute("title") or ""
    return title.removeprefix("Signed in as ")


def open_buy_dialog(page: Page) -> None:
    page.get_by_role("button", name="Buy Credits").click()
    expect(page.get_by_role("dialog", name="Buy Credits")).to_be_visible()
    expect(page.get_by_label("Amount")).to_be_focused()


def fill_order(page: Page, gateway: str, amount: str, currency: str) -> None:
    dialog = page.get_by_role("dialog", name="Buy Credits")
    dialog.locator(f"input[name=gateway][value={gateway}]").check()
    dialog.get_by_label("Currency").select_option(currency)
    dialog.get_by_label("Amount").fill(amount)


def submit_order(page: Page) -> None:
    page.get_by_role("button", name="Continue to payment").click()


def checkout(page: Page, gateway: str, amount: str, currency: str) -> str:
    """Buy Credits through a demo gateway up to its checkout page; answers the payment id."""
    open_buy_dialog(page)
    fill_order(page, gateway, amount, currency)
    submit_order(page)
    page.wait_for_url(re.compile(rf"/demo/checkout/{UUID}$"))
    return page.url.rsplit("/", 1)[1]


def status_panel(page: Page, status: str) -> None:
    expect(page.locator("#payment-status")).to_have_attribute("data-status", status, timeout=15_000)


def buy_credits(page: Page, amount: str) -> str:
    """Top up through the demo card checkout (1 USD = 1 MC) and come back to the wallet; answers the payment id."""
    payment_id = checkout(page, "stripe", amount, "USD")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    status_panel(page, "confirmed")
    page.get_by_role("link", name="Back to wallet").click()
    expect(page.locator("#balance")).not_to_have_text("…")
    return payment_id


def open_pay_dialog(page: Page) -> None:
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_role("dialog", name="Pay")).to_be_visible()
    expect(page.get_by_label("Payee")).to_be_focused()


def fill_spend(page: Page, payee: str, amount: str, memo: str = "", order_id: str | None = None) -> None:
    dialog = page.get_by_role("dialog", name="Pay")
    dialog.get_by_label("Payee").fill(payee)
    dialog.get_by_label("Amount (MC)").fill(amount)
    dialog.get_by_label("Memo (optional)").fill(memo)
    if order_id is not None:
        dialog.get_by_label("Order id").fill(order_id)


def submit_spend(page: Page) -> None:
    page.get_by_role("button", name="Sign and pay").click()


def pay(page: Page, payee: str, amount: str, memo: str = "", order_id: str | None = None) -> None:
    """The Pay dialog from the wallet, filled in and submitted."""
    open_pay_dialog(page)
    fill_spend(page, payee, amount, memo, order_id)
    submit_spend(page)
