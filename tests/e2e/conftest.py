"""Headless Chromium (the system's, through Playwright) against a real `satchel serve`.

Skips locally when Chromium or Playwright is missing; fails under CI=true (.ci/run installs both).
Set SATCHEL_DASHBOARD_SHOTS=DIR to save screenshots of the main pages there (docs/dashboard/).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.dashboard_server import Server, start, upsert_superuser
from tests.required_service import unavailable

EMAIL = "owner@example.com"
PASSWORD = "Owner12345!"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str | None:
    for candidate in (os.environ.get("SATCHEL_CHROMIUM", ""), *CHROMIUM_CANDIDATES, shutil.which("chromium") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Per module, not per session: Playwright's sync API keeps an event loop running while it is
    open, which would break the asyncio tests that run after tests/e2e in the same session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed", "pip install -e '.[test]'")
    executable = chromium_path()
    if executable is None:
        unavailable("Chromium is not installed", "apt-get install -y chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose superuser exists already (created with `satchel superuser upsert`)."""
    data_dir = tmp_path_factory.mktemp("dash") / "pb_data"
    upsert_superuser(data_dir, EMAIL, PASSWORD)
    s = start(data_dir)
    yield s
    s.stop()


class Watched:
    """A page with everything the browser reported: console errors, CSP violations, dialogs, page errors."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        def on_dialog(d: Any) -> None:
            self.dialogs.append(f"{d.type}: {d.message}")
            d.accept()

        page.on("dialog", on_dialog)
        # a listener installed before any page script; violations are recorded on the window
        page.add_init_script(
            "window.__csp = []; document.addEventListener('securitypolicyviolation',"
            " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
        )

    def csp_violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.__csp || []")
        return found + [c for c in self.console if "Content Security Policy" in c]

    def assert_clean(self) -> None:
        assert self.csp_violations() == []
        assert self.errors == []


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield Watched(page)
    context.close()


def sign_in(w: Watched, server: Server) -> None:
    w.page.goto(server.url + "/_/")
    w.page.get_by_label("Email").fill(EMAIL)
    w.page.get_by_label("Password").fill(PASSWORD)
    w.page.get_by_role("button", name="Sign in").click()
    w.page.get_by_role("heading", name="Collections").wait_for()


def shot(w: Watched, name: str) -> None:
    folder = os.environ.get("SATCHEL_DASHBOARD_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        w.page.screenshot(path=str(Path(folder) / f"{name}.png"))
