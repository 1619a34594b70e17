"""The dashboard's shell: CSP, first-run setup, sign-in (also keyboard only), sign-out, 390px layout."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, shot, sign_in
from tests.e2e.dashboard_server import Server, start

AUTH_KEY = "__pb_superuser_auth__"


def test_csp_header_and_no_violation_on_sign_in_page(server: Server, watched: Watched) -> None:
    with urllib.request.urlopen(server.url + "/_/") as resp:
        csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp
    response = watched.page.goto(server.url + "/_/")
    assert response is not None
    assert response.headers["content-security-policy"] == csp
    watched.page.get_by_role("heading", name="Superuser sign in").wait_for()
    assert watched.page.url.endswith("/_/#/login")
    shot(watched, "signin")
    watched.assert_clean()


def test_wrong_password_is_reported_and_nothing_is_stored(server: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url + "/_/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="Failed to authenticate").wait_for()
    assert page.evaluate(f"localStorage.getItem('{AUTH_KEY}')") is None
    watched.assert_clean()


def test_sign_in_keeps_the_token_and_sign_out_drops_it(server: Server, watched: Watched) -> None:
    sign_in(watched, server)
    page = watched.page
    stored = page.evaluate(f"JSON.parse(localStorage.getItem('{AUTH_KEY}'))")
    assert stored["record"]["email"] == EMAIL
    assert stored["token"].count(".") == 2
    page.reload()  # the token survives a reload: still signed in
    page.get_by_role("heading", name="Collections").wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Superuser sign in").wait_for()
    assert page.evaluate(f"localStorage.getItem('{AUTH_KEY}')") is None
    page.goto(server.url + "/_/#/settings")  # a protected page sends a guest to sign-in
    page.get_by_role("heading", name="Superuser sign in").wait_for()
    watched.assert_clean()


def _focused(page: Any) -> str:
    return str(page.evaluate("document.activeElement && (document.activeElement.name || document.activeElement.textContent)"))


def _wait_heading_focus(page: Any) -> None:
    """Pages focus their heading once loaded (polled from here: the CSP forbids wait_for_function's eval)."""
    for _ in range(100):
        if page.evaluate("document.activeElement && document.activeElement.tagName") == "H1":
            return
        page.wait_for_timeout(50)
    raise AssertionError("focus never moved to the page heading")


def test_keyboard_only_sign_in(server: Server, watched: Watched) -> None:
    page = watched.page
    page.goto(server.url + "/_/")
    page.get_by_role("heading", name="Superuser sign in").wait_for()
    _wait_heading_focus(page)
    # each page moves focus to its heading, so Tab continues from the top of the new content
    assert _focused(page) == "Superuser sign in"
    page.keyboard.press("Tab")
    assert _focused(page) == "email"
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    assert _focused(page) == "password"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # a visible focus ring
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Collections").wait_for()
    # focus moves to the new page's heading once it has loaded; the navigation is before it (Shift+Tab)
    _wait_heading_focus(page)
    assert _focused(page) == "Collections"
    for _ in range(4):
        page.keyboard.press("Shift+Tab")
        if _focused(page) == "Settings":
            break
    assert _focused(page) == "Settings"
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Settings").wait_for()
    watched.assert_clean()


@pytest.mark.parametrize(
    "route",
    ["", "#/collections", "#/collections/_superusers", "#/collections/new", "#/settings", "#/settings/mail",
     "#/settings/backups", "#/settings/rate-limits", "#/settings/storage", "#/logs"],
)
def test_no_horizontal_scroll_at_390px(server: Server, browser: Any, route: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        w = Watched(context.new_page())
        if route:
            sign_in(w, server)
            w.page.goto(server.url + "/_/" + route)
        else:
            w.page.goto(server.url + "/_/")
        w.page.locator("h1").first.wait_for()
        w.page.wait_for_load_state("networkidle")
        widths = w.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"{route or 'sign-in'}: page is {widths[0]}px wide in a {widths[1]}px viewport"
        if route == "#/collections/_superusers":
            shot(w, "records-390")
        w.assert_clean()
    finally:
        context.close()


def test_first_run_setup_link_creates_the_first_superuser(tmp_path: Path, watched: Watched) -> None:
    server = start(tmp_path / "pb_data")
    try:
        link = server.setup_link()
        assert link is not None, server.log()
        assert link.startswith(server.url + "/_/#/pbinstal/")
        page = watched.page
        page.goto(link)
        page.get_by_role("heading", name="Create your first superuser").wait_for()
        shot(watched, "setup")
        page.get_by_label("Email").fill("first@example.com")
        page.get_by_label("Password", exact=True).fill("First12345!")
        page.get_by_label("Confirm password").fill("mismatch-12345")
        page.get_by_role("button", name="Create superuser and sign in").click()
        page.locator(".field-error:not([hidden])").first.wait_for()  # the server's field error, inline
        assert page.get_by_label("Confirm password").get_attribute("aria-invalid") == "true"
        page.get_by_label("Confirm password").fill("First12345!")
        page.get_by_role("button", name="Create superuser and sign in").click()
        page.get_by_role("heading", name="Collections").wait_for()
        token = server.sign_in("first@example.com", "First12345!")
        emails = [r["email"] for r in server.api("GET", "/api/collections/_superusers/records", token=token)["items"]]
        assert emails == ["first@example.com"]  # the placeholder superuser was deleted
        # the link was for one use: its placeholder is gone, so its token no longer works
        page.goto(link)
        page.get_by_label("Email").fill("second@example.com")
        page.get_by_label("Password", exact=True).fill("Second12345!")
        page.get_by_label("Confirm password").fill("Second12345!")
        page.get_by_role("button", name="Create superuser and sign in").click()
        page.get_by_role("alert").filter(has_text="expired").wait_for()
        watched.assert_clean()
    finally:
        server.stop()


def test_a_revoked_token_goes_back_to_sign_in(server: Server, watched: Watched) -> None:
    page = watched.page
    sign_in(watched, server)
    # a token the server no longer accepts (as after a password change): tampered signature
    page.evaluate(
        f"(() => {{ const a = JSON.parse(localStorage.getItem('{AUTH_KEY}')); a.token = a.token.slice(0, -4) + 'AAAA';"
        f" localStorage.setItem('{AUTH_KEY}', JSON.stringify(a)); }})()"
    )
    page.goto(server.url + "/_/#/settings")
    page.get_by_role("heading", name="Superuser sign in").wait_for()
    assert page.evaluate(f"localStorage.getItem('{AUTH_KEY}')") is None
    watched.assert_clean()
