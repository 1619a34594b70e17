"""The record editor's relation picker over more records than one page: paging, searching, single
and multiple relations (with `maxSelect`), and the chosen records shown again when editing."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, shot, sign_in
from tests.e2e.dashboard_server import Server

COUNT = 450


def _setup(server: Server, token: str) -> dict[str, str]:
    items = server.api(
        "POST",
        "/api/collections",
        {
            "name": "items",
            "type": "base",
            "fields": [{"name": "title", "type": "text", "presentable": True}, {"name": "note", "type": "text"}],
        },
        token=token,
    )
    ids = {}
    for i in range(COUNT):
        rec = server.api("POST", "/api/collections/items/records", {"title": f"item {i:03d}", "note": "x"}, token=token)
        ids[rec["title"]] = rec["id"]
    server.api(
        "POST",
        "/api/collections",
        {
            "name": "orders",
            "type": "base",
            "fields": [
                {"name": "label", "type": "text"},
                {"name": "item", "type": "relation", "collectionId": items["id"], "maxSelect": 1},
                {"name": "extras", "type": "relation", "collectionId": items["id"], "maxSelect": 3},
            ],
        },
        token=token,
    )
    return ids


def _option(group: Any, kind: str, title: str) -> Any:
    return group.get_by_role(kind, name=re.compile(rf"^{re.escape(title)} \("))


def test_relation_picker_pages_and_searches_450_records(server: Server, watched: Watched) -> None:
    token = server.sign_in(EMAIL, PASSWORD)
    ids = _setup(server, token)
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/orders")
    page.get_by_role("heading", name="orders", exact=True).wait_for()
    page.get_by_role("button", name="New record").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("label", exact=True).fill("first order")

    # single: a record on a later page, reached with the pager
    item = dialog.get_by_role("group", name="item", exact=True)
    item.get_by_text(f"{COUNT} records, page 1 of 23").wait_for()
    assert item.get_by_role("radio").count() == 20
    for n in (2, 3):
        item.get_by_role("button", name="Next of item").click()
        item.get_by_text(f"{COUNT} records, page {n} of 23").wait_for()
    _option(item, "radio", "item 057").check()
    item.get_by_role("list", name="Chosen for item").get_by_role(
        "button", name=f"Remove item 057 ({ids['item 057']})"
    ).wait_for()
    item.get_by_role("button", name="Previous of item").click()
    item.get_by_text(f"{COUNT} records, page 2 of 23").wait_for()
    _option(item, "radio", "item 021").check()  # a single relation: this one replaces it
    chosen_item = item.get_by_role("list", name="Chosen for item")
    chosen_item.get_by_role("button", name=f"Remove item 021 ({ids['item 021']})").wait_for()
    assert "item 057" not in chosen_item.inner_text()
    item.get_by_role("button", name="Next of item").click()  # back to page 3: the 057 radio is no longer checked
    item.get_by_text(f"{COUNT} records, page 3 of 23").wait_for()
    assert not _option(item, "radio", "item 057").is_checked()
    _option(item, "radio", "item 057").check()

    # multiple: by search (Enter searches, it does not submit the record)
    extras = dialog.get_by_role("group", name="extras", exact=True)
    search = extras.get_by_label("Search extras")
    search.fill("item 44")
    search.press("Enter")
    extras.get_by_text("10 records, page 1 of 1").wait_for()
    _option(extras, "checkbox", "item 442").check()
    _option(extras, "checkbox", "item 447").check()
    search.fill(ids["item 300"])  # the id is searched too
    extras.get_by_role("button", name="Search extras").click()
    extras.get_by_text("1 records, page 1 of 1").wait_for()
    _option(extras, "checkbox", "item 300").check()
    search.fill("item 1")
    search.press("Enter")
    extras.get_by_text("100 records, page 1 of 5").wait_for()
    _option(extras, "checkbox", "item 100").click()  # a fourth: over maxSelect (the box refuses the tick)
    extras.get_by_role("alert").filter(has_text="At most 3 records.").wait_for()
    assert not _option(extras, "checkbox", "item 100").is_checked()
    shot(watched, "relation-picker")
    dialog.get_by_role("button", name="Create record").click()
    dialog.wait_for(state="detached")

    (order,) = server.api("GET", "/api/collections/orders/records", token=token)["items"]
    assert order["item"] == ids["item 057"]
    assert order["extras"] == [ids["item 442"], ids["item 447"], ids["item 300"]]

    # editing: the chosen records are listed by their titles; remove one, keep the rest
    page.get_by_role("button", name=f"Edit record {order['id']}").click()
    dialog = page.get_by_role("dialog")
    chosen = dialog.get_by_role("list", name="Chosen for extras")
    chosen.get_by_role("button", name=f"Remove item 447 ({ids['item 447']})").wait_for()
    assert dialog.get_by_role("list", name="Chosen for item").inner_text().startswith("item 057")
    chosen.get_by_role("button", name=f"Remove item 447 ({ids['item 447']})").click()
    dialog.get_by_role("button", name="Save record").click()
    dialog.wait_for(state="detached")
    stored = server.api("GET", f"/api/collections/orders/records/{order['id']}", token=token)
    assert stored["extras"] == [ids["item 442"], ids["item 300"]] and stored["item"] == ids["item 057"]

    page.set_viewport_size({"width": 390, "height": 844})  # the editor with two pickers on a phone
    page.get_by_role("button", name=f"Edit record {order['id']}").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("group", name="extras", exact=True).get_by_text(f"{COUNT} records, page 1 of 23").wait_for()
    sizes = dialog.evaluate("d => [d.scrollWidth, d.clientWidth, document.documentElement.scrollWidth, innerWidth]")
    assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], sizes
    page.keyboard.press("Escape")
    watched.assert_clean()
