"""`/api/docs` in headless Chromium: Swagger UI from the installed package, under a strict CSP,
listing the live collections' operations; the dashboard's session shows the superuser's view."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import EMAIL, PASSWORD, Watched
from tests.e2e.dashboard_server import Server

NOTES = {
    "name": "notes",
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "fields": [{"name": "text", "type": "text"}],
}


def _ensure_notes(server: Server) -> str:
    token = server.sign_in(EMAIL, PASSWORD)
    names = [c["name"] for c in server.api("GET", "/api/collections?perPage=500", token=token)["items"]]
    if "notes" not in names:
        server.api("POST", "/api/collections", NOTES, token)
    return token


def test_docs_page_lists_the_collections_operations(server: Server, watched: Watched) -> None:
    _ensure_notes(server)
    page = watched.page
    response = page.goto(server.url + "/api/docs")
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    page.locator(".opblock-tag", has_text="notes").first.wait_for()
    section = page.locator(".opblock-tag-section", has=page.locator(".opblock-tag", has_text="notes")).first
    if section.locator(".opblock").count() == 0:  # a collapsed tag: open it
        section.locator(".opblock-tag").first.click()
    paths = section.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/collections/notes/records" in [p.replace("\u200b", "") for p in paths]
    assert page.locator(".opblock-tag", has_text="settings").count() == 0  # the public view
    assert page.locator("#docs-audience").inner_text() == "public view"
    watched.assert_clean()


def test_signed_in_dashboard_session_shows_the_superuser_view(server: Server, watched: Watched) -> None:
    token = _ensure_notes(server)
    page: Any = watched.page
    page.goto(server.url + "/_/")
    page.evaluate("t => localStorage.setItem('__pb_superuser_auth__', JSON.stringify({token: t, record: {}}))", token)
    page.goto(server.url + "/api/docs")
    page.locator(".opblock-tag", has_text="settings").first.wait_for()
    assert "superuser" in page.locator("#docs-audience").inner_text()
    watched.assert_clean()
