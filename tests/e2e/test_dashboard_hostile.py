"""Hostile record contents render as text: no script runs, no dialog opens, no element is injected."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, sign_in
from tests.e2e.dashboard_server import Server

PAYLOAD = '<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=2</script>'


def _seed(server: Server, token: str) -> dict[str, Any]:
    server.api("POST", "/api/collections", {
        "name": "hostile", "type": "base", "listRule": "", "viewRule": "",
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "body", "type": "editor"},
            {"name": "site", "type": "url"},
            {"name": "meta", "type": "json"},
            {"name": "tags", "type": "select", "values": [PAYLOAD, "plain"], "maxSelect": 2},
        ],
    }, token=token)
    return server.api("POST", "/api/collections/hostile/records", {  # type: ignore[no-any-return]
        "title": PAYLOAD,
        "body": PAYLOAD,
        "site": "https://example.com/?q=%3Cimg%20src%3Dx%3E",
        "meta": {PAYLOAD: [PAYLOAD], "n": 1},
        "tags": [PAYLOAD],
    }, token=token)


def _assert_inert(w: Watched) -> None:
    page = w.page
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x], script:not([src]), svg").count() == 0
    assert w.dialogs == []
    w.assert_clean()


def test_hostile_record_contents_are_rendered_as_text(server: Server, watched: Watched) -> None:
    token = server.sign_in(EMAIL, PASSWORD)
    record = _seed(server, token)
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/hostile")
    page.locator("td[data-field=title]").wait_for()
    assert page.locator("td[data-field=title]").inner_text() == PAYLOAD
    assert page.locator("td[data-field=body]").inner_text() == PAYLOAD
    assert json.loads(page.locator("td[data-field=meta]").inner_text()) == record["meta"]
    assert json.loads(page.locator("td[data-field=tags]").inner_text()) == [PAYLOAD]
    _assert_inert(watched)

    page.get_by_role("button", name=f"Edit record {record['id']}").click()
    dialog = page.get_by_role("dialog")
    assert dialog.get_by_label("title", exact=True).input_value() == PAYLOAD
    assert dialog.get_by_label("body", exact=True).input_value() == PAYLOAD
    assert dialog.get_by_label("tags", exact=True).locator("option").first.inner_text() == PAYLOAD
    _assert_inert(watched)
    page.keyboard.press("Escape")  # the dialog closes by keyboard and gives focus back
    dialog.wait_for(state="detached")
    assert page.evaluate("document.activeElement.textContent").startswith("Edit")


def test_hostile_collection_and_field_names_in_errors_and_filters(server: Server, watched: Watched) -> None:
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/%E0%A4%A")  # a malformed escape in a typed URL
    page.get_by_role("heading", name="Not found").wait_for()
    page.goto(server.url + "/_/#/collections/_superusers?filter=" + "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    page.get_by_role("alert").filter(has_text="Could not list records").wait_for()
    assert page.get_by_label("Filter").input_value() == "<img src=x onerror=alert(1)>"
    page.goto(server.url + "/_/#/collections/" + "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")  # no such collection
    page.get_by_role("heading", name="Not found").wait_for()
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0
    assert watched.dialogs == []
    watched.assert_clean()
