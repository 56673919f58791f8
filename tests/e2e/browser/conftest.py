"""Headless Chromium driving the demo pages as a person would.

The browser is Debian's Chromium (`make test` installs it when it is missing): Playwright
cannot download its own here. A missing browser fails the tests, it never skips them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.payment_shop import WAIT
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]

# Pages poll the API: as patient as the API-level tests are with the views and webhooks.
expect.set_options(timeout=WAIT * 1000)


def chromium_executable() -> str:
    path = os.environ.get("CHROMIUM") or DEFAULT_CHROMIUM
    found = shutil.which(path)
    if found is None:
        pytest.fail(
            f"no Chromium at {path}: run `make test` (it installs Debian's chromium), or "
            "`apt-get install -y chromium`, or set CHROMIUM to the browser's executable",
            pytrace=False,
        )
    return found


# Per module, not per session: a live sync Playwright keeps an event loop running in the
# main thread, and later tests that call asyncio.run() would find it there.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Visit:
    """One browser tab and everything it showed besides the page: dialogs, console
    messages, Content-Security-Policy violations and the requests it made."""

    page: Page
    dialogs: list[tuple[str, str]] = field(default_factory=list)
    console: list[ConsoleMessage] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    prompt_answer: str = ""

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append((dialog.type, dialog.message))
        if dialog.type == "prompt":
            dialog.accept(self.prompt_answer)
        else:
            dialog.accept()

    def csp_violations(self) -> list[str]:
        reported: list[str] = self.page.evaluate("window.__cspViolations || []")
        logged = [m.text for m in self.console if "Content Security Policy" in m.text]
        return reported + logged

    def errors(self) -> list[str]:
        """Console errors, but for the favicon the browser asks for on its own (the pages
        have none)."""
        return [
            f"{m.text} ({m.location.get('url')})"
            for m in self.console
            if m.type == "error" and not str(m.location.get("url", "")).endswith("/favicon.ico")
        ]


# Runs before any page script, in every document of the tab: reports violations the
# page's policy blocked, which the console also logs.
_REPORT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


OpenVisit = Callable[..., Visit]

_PHASES = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_PHASES, {})[report.when] = report
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    phases = request.node.stash.get(_PHASES, {})
    return any(report.failed for report in phases.values())


def _keep_screenshots(request: pytest.FixtureRequest, pages: list[Page]) -> None:
    """What each tab of a failed test showed, in .pytest-tmp/screenshots (`make test`'s
    basetemp, which the next run clears)."""
    folder = request.config.rootpath / ".pytest-tmp" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-150:]
    for n, page in enumerate(pages):
        path = folder / f"{name}-{n}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
        except PlaywrightError as exc:  # a tab that crashed or closed has nothing to show
            print(f"no screenshot of tab {n}: {exc}")
        else:
            print(f"screenshot of tab {n}: {path}")


@pytest.fixture
def open_visit(browser: Browser, request: pytest.FixtureRequest) -> Iterator[OpenVisit]:
    """A new tab in a fresh context; ``bypass_csp=True`` ignores the pages' policy, to see
    what their own escaping holds without it; ``viewport`` sets its size (a phone's:
    390 x 844). A failed test leaves a screenshot of every tab it opened."""
    contexts: list[BrowserContext] = []
    pages: list[Page] = []

    def open_(*, bypass_csp: bool = False, viewport: ViewportSize | None = None) -> Visit:
        size = viewport or ViewportSize(width=1280, height=720)
        context = browser.new_context(locale="en-US", bypass_csp=bypass_csp, viewport=size)
        contexts.append(context)
        context.add_init_script(_REPORT_VIOLATIONS)
        page = context.new_page()
        pages.append(page)
        page.set_default_timeout(WAIT * 1000)
        found = Visit(page)
        page.on("dialog", found._on_dialog)
        page.on("console", lambda message: found.console.append(message))
        page.on("request", lambda request: found.requests.append(request.url))
        return found

    yield open_
    if _failed(request):
        _keep_screenshots(request, pages)
    for context in contexts:
        context.close()


@pytest.fixture
def visit(open_visit: OpenVisit) -> Visit:
    return open_visit()
