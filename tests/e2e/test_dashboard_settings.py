"""Application settings through the dashboard: saved through PATCH /api/settings, errors inline."""

from __future__ import annotations

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, shot, sign_in
from tests.e2e.dashboard_server import Server


def test_application_name_and_url(server: Server, watched: Watched) -> None:
    page = watched.page
    sign_in(watched, server)
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("heading", name="Settings").wait_for()
    name = page.get_by_label("Application name")
    url = page.get_by_label("Application URL")
    name.fill("")
    page.get_by_role("button", name="Save settings").click()
    # the browser's own required check stops an empty name before any request
    assert page.evaluate("document.activeElement.validity.valueMissing") is True
    name.fill("Acme <b>backend</b>")
    url.fill("https://acme.example.com")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_role("status").filter(has_text="Settings saved.").wait_for()
    token = server.sign_in(EMAIL, PASSWORD)
    meta = server.api("GET", "/api/settings", token=token)["meta"]
    assert meta["appName"] == "Acme <b>backend</b>"
    assert meta["appURL"] == "https://acme.example.com"
    page.reload()
    page.get_by_role("heading", name="Settings").wait_for()
    assert page.get_by_label("Application name").input_value() == "Acme <b>backend</b>"
    assert page.locator("b").count() == 0
    shot(watched, "settings")
    watched.assert_clean()


def test_collections_page_lists_system_collections(server: Server, watched: Watched) -> None:
    page = watched.page
    sign_in(watched, server)
    names = page.locator("tbody th a").all_inner_texts()
    assert "_superusers" in names and "users" in names
    shot(watched, "collections")
    page.get_by_role("link", name="users", exact=True).click()
    page.get_by_role("heading", name="users", exact=True).wait_for()
    page.get_by_role("link", name="Edit collection").click()
    page.get_by_role("heading", name="Edit collection users").wait_for()
    watched.assert_clean()
