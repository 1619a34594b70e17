"""Superusers through the dashboard: list, create, edit (email, password), delete; the server's refusal
to delete the last one is shown, and deleting yourself signs you out."""

from __future__ import annotations

import urllib.error
from typing import Any

import pytest

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, shot, sign_in
from tests.e2e.dashboard_server import Server


def _emails(server: Server, token: str) -> list[str]:
    items = server.api("GET", "/api/collections/_superusers/records?sort=email", token=token)["items"]
    return [str(r["email"]) for r in items]


def test_superusers_create_edit_delete(server: Server, watched: Watched) -> None:
    page = watched.page
    sign_in(watched, server)
    page.get_by_role("link", name="Superusers", exact=True).click()
    page.get_by_role("heading", name="Superusers").wait_for()
    me = page.get_by_role("row").filter(has_text=EMAIL)
    me.get_by_text("you", exact=True).wait_for()

    # the only superuser: the server refuses, the page says why, nothing changes
    page.get_by_role("button", name=f"Delete {EMAIL}").click()
    page.get_by_role("alert").filter(has_text="You can't delete the only existing superuser.").wait_for()
    assert watched.dialogs[-1].startswith("confirm: Delete superuser yourself")
    token = server.sign_in(EMAIL, PASSWORD)
    assert _emails(server, token) == [EMAIL]

    page.get_by_text("New superuser").click()
    email = page.get_by_label("Email")
    email.fill(EMAIL)  # taken: the server's field error, under the box
    page.get_by_label("Password", exact=True).fill("Second12345!")
    page.get_by_label("Confirm password").fill("Second12345?")
    page.get_by_role("button", name="Create superuser").click()
    page.get_by_text("The passwords do not match.").wait_for()  # checked before sending
    page.get_by_label("Confirm password").fill("Second12345!")
    page.get_by_role("button", name="Create superuser").click()
    page.locator(f"#{email.get_attribute('id')}-error:not([hidden])").wait_for()
    assert email.get_attribute("aria-invalid") == "true"
    email.fill("second@example.com")
    page.get_by_role("button", name="Create superuser").click()
    page.get_by_role("status").filter(has_text="Superuser second@example.com created.").wait_for()
    assert _emails(server, token) == [EMAIL, "second@example.com"]
    server.sign_in("second@example.com", "Second12345!")
    shot(watched, "superusers")

    page.get_by_role("button", name="Edit second@example.com").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Email").fill("two@example.com")
    dialog.get_by_label("New password", exact=True).fill("Two-12345678")
    dialog.get_by_label("Confirm new password").fill("Two-12345678")
    dialog.get_by_role("button", name="Save superuser").click()
    page.get_by_role("status").filter(has_text="Superuser two@example.com saved.").wait_for()
    assert dialog.count() == 0
    assert _emails(server, token) == [EMAIL, "two@example.com"]
    server.sign_in("two@example.com", "Two-12345678")

    # your own password: the change revokes your token, the page signs in again with the new one
    page.get_by_role("button", name=f"Edit {EMAIL}").click()
    page.get_by_role("dialog").get_by_label("New password", exact=True).fill("Owner-new-1234")
    page.get_by_role("dialog").get_by_label("Confirm new password").fill("Owner-new-1234")
    page.get_by_role("dialog").get_by_role("button", name="Save superuser").click()
    page.get_by_role("status").filter(has_text=f"Superuser {EMAIL} saved.").wait_for()
    with pytest.raises(urllib.error.HTTPError):
        server.sign_in(EMAIL, PASSWORD)
    page.get_by_role("link", name="Collections").click()  # still signed in, with a fresh token
    page.get_by_role("heading", name="Collections").wait_for()
    page.get_by_role("link", name="Superusers", exact=True).click()

    page.get_by_role("button", name="Edit two@example.com").click()
    page.keyboard.press("Escape")  # the dialog closes by keyboard and gives focus back
    assert page.get_by_role("dialog").count() == 0
    assert page.evaluate("document.activeElement.textContent") == "Edit two@example.com"
    page.get_by_role("button", name="Delete two@example.com").click()
    page.get_by_role("status").filter(has_text="Superuser two@example.com deleted.").wait_for()
    token = server.sign_in(EMAIL, "Owner-new-1234")
    assert _emails(server, token) == [EMAIL]

    # yourself, while another remains: deleted, and signed out
    server.api(
        "POST",
        "/api/collections/_superusers/records",
        {"email": "heir@example.com", "password": "Heir-12345678", "passwordConfirm": "Heir-12345678"},
        token=token,
    )
    page.reload()
    page.get_by_role("button", name=f"Delete {EMAIL}").click()
    page.get_by_role("heading", name="Superuser sign in").wait_for()
    heir = server.sign_in("heir@example.com", "Heir-12345678")
    assert _emails(server, heir) == ["heir@example.com"]
    server.api(
        "POST",
        "/api/collections/_superusers/records",  # put the module's superuser back
        {"email": EMAIL, "password": PASSWORD, "passwordConfirm": PASSWORD},
        token=heir,
    )
    watched.assert_clean()


def test_superusers_page_at_390px_and_by_keyboard(server: Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        w = Watched(context.new_page())
        sign_in(w, server)
        w.page.goto(server.url + "/_/#/superusers")
        w.page.get_by_role("heading", name="Superusers").wait_for()
        w.page.wait_for_load_state("networkidle")
        widths = w.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"{widths[0]}px wide in {widths[1]}px"
        w.page.get_by_text("New superuser").focus()
        w.page.keyboard.press("Enter")  # <details> opens from the keyboard
        w.page.keyboard.press("Tab")
        assert w.page.evaluate("document.activeElement.type") == "email"
        assert w.page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
        w.assert_clean()
    finally:
        context.close()
