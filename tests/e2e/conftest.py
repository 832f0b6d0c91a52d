"""The browser tier: one real `mcpay serve` (demo mode, SQLite) per session, driven by Debian's Chromium."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize, sync_playwright

from tests.e2e.support import ARTIFACTS, Admin, ConsoleWatch, Server
from tests.processes import free_port, running

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


def _admin() -> Admin:
    key = SigningKey.generate()
    return Admin(seed=key.encode().hex(), public_key=key.verify_key.encode().hex())


@pytest.fixture(scope="package")
def server(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`mcpay serve` on a free port, demo mode, a fresh SQLite file, two admins, maker-checker on, yen too."""
    workdir = tmp_path_factory.mktemp("mcpay-e2e")
    admins = (_admin(), _admin())
    port = free_port()
    stripe_secret = f"whsec_{secrets.token_hex(16)}"  # the demo checkout signs with it, and so can a test
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PUBLIC_BASE_URL": url,
        "DATABASE_URL": f"sqlite:///{workdir / 'mcpay.sqlite3'}",
        "DEMO_PAYMENT": "true",
        "ADMIN_PUBLIC_KEYS": ",".join(admin.public_key for admin in admins),
        "BANK_CONFIRMATIONS_REQUIRED": "2",
        "STRIPE_WEBHOOK_SECRET": stripe_secret,
        "CREDIT_RATES": "USD=1,EUR=1.08,TZS=0.00037,JPY=0.0067",  # the defaults, and a currency of no decimals
    }
    mcpay = Path(sys.executable).parent / "mcpay"
    with running([str(mcpay), "serve"], env, url, workdir / "server.log"):
        yield Server(url=url, admins=admins, stripe_webhook_secret=stripe_secret)


@pytest.fixture(scope="package")
def playwright_driver(chromium: Path) -> Iterator[Playwright]:
    """Package-scoped: the sync driver runs an event loop in this thread, which must be gone before the tests
    after the browser tests (some call asyncio.run) start."""
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright, chromium: Path) -> Iterator[Browser]:
    launched = playwright_driver.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


NewPage = Callable[[], Page]


@pytest.fixture
def new_page(browser: Browser, server: Server) -> Iterator[NewPage]:
    """Pages, each in a browser context of its own (its own IndexedDB: another person), watched for errors.

    At the end every console error, page error and failed response must have been expected by the test.
    """
    opened: list[tuple[BrowserContext, ConsoleWatch]] = []

    def open_page() -> Page:
        context = browser.new_context(viewport=DESKTOP, base_url=server.url, accept_downloads=True)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
        page = context.new_page()
        opened.append((context, ConsoleWatch.on(page)))
        return page

    yield open_page
    problems = [problem for _, watch in opened for problem in watch.unexpected()]
    for context, _ in opened:
        context.close()
    assert not problems, "browser console errors:\n" + "\n".join(problems)


@pytest.fixture
def page(new_page: NewPage) -> Page:
    return new_page()
