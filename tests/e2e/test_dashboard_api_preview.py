"""The API preview of a collection (#/collections/<name>/api): operations as keyboard tabs, generated
from the live collection (fields, rules), SDK snippets copied with the Clipboard API or without it."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, shot, sign_in
from tests.e2e.dashboard_server import Server

BASE_TABS = ["List/Search", "View", "Create", "Update", "Delete", "Realtime"]
AUTH_TABS = [
    "Auth with password",
    "Auth with OAuth2",
    "Auth with OTP",
    "Auth refresh",
    "Verification",
    "Password reset",
]


def _posts(server: Server, token: str) -> dict[str, Any]:
    result: dict[str, Any] = server.api(
        "POST",
        "/api/collections",
        {
            "name": "articles",
            "type": "base",
            "listRule": "",
            "viewRule": 'title != ""',
            "createRule": '@request.auth.id != ""',
            "updateRule": None,
            "deleteRule": None,
            "fields": [
                {"name": "title", "type": "text", "required": True},
                {"name": "views", "type": "number"},
                {"name": "tags", "type": "select", "values": ["a", "b"], "maxSelect": 2},
                {"name": "cover", "type": "file", "maxSelect": 1},
                {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
                {"name": "secret", "type": "text", "hidden": True},
                {"name": "created", "type": "autodate", "onCreate": True},
            ],
        },
        token=token,
    )
    return result


def _panel_rows(page: Any, caption: str) -> dict[str, list[str]]:
    table = page.get_by_role("tabpanel").get_by_role("table", name=caption)
    rows: dict[str, list[str]] = {}
    for row in table.locator("tbody tr").all():
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        rows[cells[0]] = cells[1:]
    return rows


def test_operations_rules_fields_and_keyboard(server: Server, watched: Watched) -> None:
    token = server.sign_in(EMAIL, PASSWORD)
    _posts(server, token)
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/articles")
    page.get_by_role("link", name="API preview").click()
    page.get_by_role("heading", name="API preview: articles").wait_for()
    tabs = page.get_by_role("tab")
    assert [t.strip() for t in tabs.all_inner_texts()] == BASE_TABS
    panel = page.get_by_role("tabpanel", name="List/Search")
    assert panel.locator(".endpoint").inner_text().split() == ["GET", "/api/collections/articles/records"]
    assert "Everyone (empty rule)" in panel.locator("dl").inner_text()
    assert {"page", "perPage", "sort", "filter", "expand", "fields", "skipTotal"} == set(
        _panel_rows(page, "List/Search: query parameters")
    )
    example = json.loads(panel.get_by_label("List/Search: response example").inner_text())
    item = example["items"][0]
    assert list(item)[:3] == ["collectionId", "collectionName", "id"] and item["collectionName"] == "articles"
    assert {"title", "views", "tags", "cover", "author", "created"} <= set(item) and "secret" not in item
    assert item["tags"] == ["a"] and isinstance(item["views"], int)

    # tabs by keyboard: arrows move and select, Home/End jump
    page.get_by_role("tab", name="List/Search").focus()
    page.keyboard.press("ArrowRight")
    view_tab = page.get_by_role("tab", name="View")
    assert view_tab.get_attribute("aria-selected") == "true"
    assert page.evaluate("document.activeElement.id") == view_tab.get_attribute("id")
    assert page.get_by_role("tabpanel", name="View").locator("code.rule-text").inner_text() == 'title != ""'
    page.keyboard.press("End")
    realtime = page.get_by_role("tabpanel", name="Realtime")
    assert (
        "articles/*" in realtime.inner_text()
        and "subscribe('*'" in realtime.get_by_label("JavaScript SDK").inner_text()
    )
    page.keyboard.press("ArrowRight")  # wraps
    assert page.get_by_role("tab", name="List/Search").get_attribute("aria-selected") == "true"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Home")
    for _ in range(2):
        page.keyboard.press("ArrowRight")
    create = page.get_by_role("tabpanel", name="Create")
    assert create.locator(".endpoint").inner_text().split() == ["POST", "/api/collections/articles/records"]
    assert create.locator("code.rule-text").inner_text() == '@request.auth.id != ""'
    body = _panel_rows(page, "Create: body parameters")
    assert body["title"] == ["String", "yes", ""]
    assert body["tags"][0] == "Array<String> (of: a, b)" and body["cover"][0] == "File (multipart)"
    assert body["author"][0] == "String (record id)" and "hidden" in body["secret"][2]
    assert "created" not in body
    js = create.get_by_label("JavaScript SDK").inner_text()
    assert (
        f"new PocketBase('{server.url}')" in js
        and "pb.collection('articles').create(data)" in js
        and '"title": "test"' in js
    )
    dart = create.get_by_label("Dart SDK").inner_text()
    assert "final body = <String, dynamic>{" in dart and "pb.collection('articles').create(body: body)" in dart
    assert "op=create" in page.evaluate("location.hash")
    shot(watched, "api-preview")

    page.get_by_role("tab", name="Update").click()
    update = page.get_by_role("tabpanel", name="Update")
    assert update.locator(".endpoint").inner_text().split() == ["PATCH", "/api/collections/articles/records/:id"]
    assert "Superusers only (no rule)" in update.locator("dl").inner_text()
    assert "views+" in _panel_rows(page, "Update: body parameters")["views"][2]
    page.get_by_role("tab", name="Delete").click()
    assert "204 No Content" in page.get_by_role("tabpanel", name="Delete").inner_text()

    # the preview follows the collection as saved: a new field and rule show after a reload
    collection = server.api("GET", "/api/collections/articles", token=token)
    server.api(
        "PATCH",
        "/api/collections/articles",
        {
            "createRule": "views > 0",
            "fields": [*collection["fields"], {"name": "subtitle", "type": "email"}],
        },
        token=token,
    )
    page.goto(server.url + "/_/#/collections/articles/api?op=create")
    page.reload()
    create = page.get_by_role("tabpanel", name="Create")
    create.wait_for()
    assert page.get_by_role("tab", name="Create").get_attribute("aria-selected") == "true"  # bookmarked
    assert create.locator("code.rule-text").inner_text() == "views > 0"
    assert _panel_rows(page, "Create: body parameters")["subtitle"][0] == "String (email)"
    watched.assert_clean()


def test_auth_collection_operations(server: Server, watched: Watched) -> None:
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/users/api")
    page.get_by_role("heading", name="API preview: users").wait_for()
    assert [t.strip() for t in page.get_by_role("tab").all_inner_texts()] == BASE_TABS + AUTH_TABS
    page.get_by_role("tab", name="Create").click()
    body = _panel_rows(page, "Create: body parameters")
    assert body["password"][1] == "yes" and body["passwordConfirm"][1] == "yes" and "email" in body
    example = json.loads(page.get_by_label("Create: response example").inner_text())
    assert "password" not in example and "tokenKey" not in example and example["collectionName"] == "users"
    page.get_by_role("tab", name="Update").click()
    update = page.get_by_role("tabpanel", name="Update")
    assert "Manage rule" in update.locator("dl").inner_text() and "oldPassword" in _panel_rows(
        page, "Update: body parameters"
    )

    page.get_by_role("tab", name="Auth with password").click()
    panel = page.get_by_role("tabpanel", name="Auth with password")
    assert panel.locator(".endpoint").inner_text().split() == ["POST", "/api/collections/users/auth-with-password"]
    assert (
        "Auth rule" in panel.locator("dl").inner_text() and "Everyone (empty rule)" in panel.locator("dl").inner_text()
    )
    assert set(_panel_rows(page, "Auth with password: body parameters")) == {"identity", "password", "identityField"}
    response = json.loads(panel.get_by_label("Auth with password: response example").inner_text())
    assert set(response) == {"token", "record"} and "password" not in response["record"]
    assert "authWithPassword(" in panel.get_by_label("JavaScript SDK").inner_text()
    assert "authWithPassword(" in panel.get_by_label("Dart SDK").inner_text()
    for tab, path, js in (
        ("Auth with OAuth2", "auth-with-oauth2", "authWithOAuth2("),
        ("Auth with OTP", "auth-with-otp", "authWithOTP(result.otpId"),
        ("Auth refresh", "auth-refresh", "authRefresh()"),
        ("Verification", "request-verification", "confirmVerification("),
        ("Password reset", "request-password-reset", "confirmPasswordReset("),
    ):
        page.get_by_role("tab", name=tab).click()
        panel = page.get_by_role("tabpanel", name=tab)
        assert panel.locator(".endpoint").first.inner_text().split() == ["POST", f"/api/collections/users/{path}"]
        assert js in panel.get_by_label("JavaScript SDK").inner_text()
        assert js.split("(")[0] in panel.get_by_label("Dart SDK").inner_text()
    watched.assert_clean()


def test_copy_with_the_clipboard_api(server: Server, watched: Watched) -> None:
    page = watched.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/users/api?op=auth-with-password")
    panel = page.get_by_role("tabpanel", name="Auth with password")
    panel.get_by_role("button", name="Copy Dart SDK").click()
    page.get_by_role("status").filter(has_text="Dart SDK: Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == panel.get_by_label("Dart SDK").inner_text()
    watched.assert_clean()


def test_copy_without_the_clipboard_api(browser: Any, server: Server) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        # an older or locked-down browser: no navigator.clipboard; record what a copy command copies
        page.add_init_script(
            "Object.defineProperty(Navigator.prototype, 'clipboard', { get: () => undefined });"
            " document.addEventListener('copy', (e) => { const t = e.target;"
            " window.__copied = t && 'value' in t ? t.value.slice(t.selectionStart, t.selectionEnd) : String(getSelection()); });"
        )
        w = Watched(page)
        sign_in(w, server)
        page.goto(server.url + "/_/#/collections/users/api?op=create")
        panel = page.get_by_role("tabpanel", name="Create")
        panel.wait_for()
        assert page.evaluate("navigator.clipboard") is None
        copy = panel.get_by_role("button", name="Copy JavaScript SDK")
        copy.focus()
        page.keyboard.press("Enter")
        page.get_by_role("status").filter(has_text="JavaScript SDK: Copied.").wait_for()
        assert page.evaluate("window.__copied") == panel.get_by_label("JavaScript SDK").inner_text()
        assert page.evaluate("document.activeElement.textContent").startswith("Copy")  # focus came back
        # 390px: nothing scrolls sideways but the code and tables, inside their frames
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.evaluate("window.scrollTo(0, 0)")
        shot(w, "api-preview-390")
        w.assert_clean()
    finally:
        context.close()
