"""Browser tests: Playwright for Python driving Debian's chromium against `live_server`.

pytest-playwright is not used: one session-scoped browser, a fresh context (cookies,
language) per test. See ENVIRONMENT.md for the chromium flags.
"""

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from subscriptions.roles import sync_staff_roles

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TIMEOUT_MS = 15_000

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium per module. Playwright's sync API runs an event loop in this thread
    while it is open, and Django's ORM refuses to run beside one (SynchronousOnlyOperation)
    unless DJANGO_ALLOW_ASYNC_UNSAFE is set: so the flag is set for exactly as long as the
    browser runs, and every other test keeps Django's async-safety checks."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (see ENVIRONMENT.md)")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    """A fresh English-speaking browser context against the live server; the test fails
    when the browser blocked anything under the Content-Security-Policy."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-GB",
        extra_http_headers={"Accept-Language": "en"},
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    yield page
    context.close()
    # Every page a journey visits runs under the strict policy (no inline script or
    # style): the browser reports anything it had to block.
    assert violations == [], "\n".join(violations)


@pytest.fixture
def screenshot(page: Page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """`screenshot("step")` saves test-artifacts/screenshots/<test>--<step>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"\W+", "-", request.node.name.removeprefix("test_")).strip("-")

    def take(step: str) -> Path:
        path = SCREENSHOTS / f"{test}--{step}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take


@pytest.fixture
def staff_roles(transactional_db) -> None:
    """The role groups. The data migration made them, but every transactional test
    flushes the database afterwards, so an earlier browser test may have removed them."""
    sync_staff_roles()
