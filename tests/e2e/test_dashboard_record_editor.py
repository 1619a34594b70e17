"""The record editor: one control per field type, values round-trip through the API."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, shot, sign_in
from tests.e2e.dashboard_server import Server

FIELDS: list[dict[str, Any]] = [
    {"name": "title", "type": "text", "required": True},
    {"name": "count", "type": "number"},
    {"name": "done", "type": "bool"},
    {"name": "contact", "type": "email"},
    {"name": "site", "type": "url"},
    {"name": "due", "type": "date"},
    {"name": "color", "type": "select", "values": ["red", "green", "blue"], "maxSelect": 1},
    {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
    {"name": "data", "type": "json"},
]


def test_every_field_type_round_trips(server: Server, watched: Watched) -> None:
    token = server.sign_in(EMAIL, PASSWORD)
    server.api("POST", "/api/collections", {"name": "tasks", "type": "base", "fields": FIELDS}, token=token)
    page = watched.page
    page.emulate_media(color_scheme="light")
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/tasks")
    page.get_by_role("heading", name="tasks", exact=True).wait_for()

    page.get_by_role("button", name="New record").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Create record").click()  # title is required: the server's error, inline
    title = dialog.get_by_label("title", exact=True)
    dialog.locator(f"#{title.get_attribute('id')}-error").wait_for()
    assert title.get_attribute("aria-invalid") == "true"

    title.fill("Ship it")
    dialog.get_by_label("count", exact=True).fill("3.5")
    dialog.get_by_label("done", exact=True).check()
    dialog.get_by_label("contact", exact=True).fill("ops@example.com")
    dialog.get_by_label("site", exact=True).fill("https://example.com/x")
    dialog.get_by_label("due", exact=True).fill("2031-02-03T04:05:06")
    dialog.get_by_label("color", exact=True).select_option("green")
    dialog.get_by_label("tags", exact=True).select_option(["a", "c"])
    data = dialog.get_by_label("data", exact=True)
    data.fill("{not json")
    dialog.get_by_role("button", name="Create record").click()
    dialog.locator(f"#{data.get_attribute('id')}-error").filter(has_text="Invalid JSON.").wait_for()
    data.fill('{"k": [1, 2]}')
    shot(watched, "record-editor")
    dialog.get_by_role("button", name="Create record").click()
    dialog.wait_for(state="detached")

    record = server.api("GET", "/api/collections/tasks/records", token=token)["items"][0]
    assert record["title"] == "Ship it"
    assert record["count"] == 3.5
    assert record["done"] is True
    assert record["contact"] == "ops@example.com"
    assert record["site"] == "https://example.com/x"
    assert record["due"].startswith("2031-02-0")  # local time in the browser, stored in UTC
    assert record["color"] == "green"
    assert record["tags"] == ["a", "c"]
    assert record["data"] == {"k": [1, 2]}

    page.get_by_role("button", name=f"Edit record {record['id']}").click()
    dialog = page.get_by_role("dialog")
    assert dialog.get_by_label("count", exact=True).input_value() == "3.5"
    assert dialog.get_by_label("done", exact=True).is_checked()
    assert dialog.get_by_label("due", exact=True).input_value() == "2031-02-03T04:05:06"
    assert dialog.get_by_label("color", exact=True).input_value() == "green"
    dialog.get_by_label("done", exact=True).uncheck()
    dialog.get_by_label("title", exact=True).fill("Shipped")
    dialog.get_by_role("button", name="Save record").click()
    dialog.wait_for(state="detached")
    updated = server.api("GET", f"/api/collections/tasks/records/{record['id']}", token=token)
    assert updated["title"] == "Shipped" and updated["done"] is False
    assert updated["tags"] == ["a", "c"] and updated["due"] == record["due"]  # untouched values kept
    watched.assert_clean()


def test_geo_point_has_its_own_controls_and_is_kept(server: Server, watched: Watched) -> None:
    """A geoPoint is an object: a plain text box showed `[object Object]`, which the server reads as
    (0, 0), so saving any other change of such a record moved it to (0, 0)."""
    token = server.sign_in(EMAIL, PASSWORD)
    fields = [{"name": "title", "type": "text"}, {"name": "loc", "type": "geoPoint"}]
    server.api("POST", "/api/collections", {"name": "places", "type": "base", "fields": fields}, token=token)
    rome = server.api("POST", "/api/collections/places/records", {"title": "Rome", "loc": {"lon": 12.5, "lat": 41.9}}, token=token)
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/places")
    page.get_by_role("heading", name="places", exact=True).wait_for()

    page.get_by_role("button", name=f"Edit record {rome['id']}").click()
    dialog = page.get_by_role("dialog")
    assert dialog.get_by_label("loc longitude", exact=True).input_value() == "12.5"
    assert dialog.get_by_label("loc latitude", exact=True).input_value() == "41.9"
    dialog.get_by_label("title", exact=True).fill("Roma")
    dialog.get_by_role("button", name="Save record").click()
    dialog.wait_for(state="detached")
    kept = server.api("GET", f"/api/collections/places/records/{rome['id']}", token=token)
    assert kept["title"] == "Roma" and kept["loc"] == {"lon": 12.5, "lat": 41.9}

    page.get_by_role("button", name="New record").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("title", exact=True).fill("Oslo")
    dialog.get_by_label("loc longitude", exact=True).fill("10.75")
    dialog.get_by_label("loc latitude", exact=True).fill("59.91")
    dialog.get_by_role("button", name="Create record").click()
    dialog.wait_for(state="detached")
    oslo = server.api("GET", "/api/collections/places/records?filter=title='Oslo'", token=token)["items"][0]
    assert oslo["loc"] == {"lon": 10.75, "lat": 59.91}

    page.get_by_role("button", name=f"Edit record {oslo['id']}").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("loc latitude", exact=True).fill("91")  # out of range: the server's error, inline
    dialog.get_by_role("button", name="Save record").click()
    dialog.get_by_role("alert").filter(has_text="atitude").first.wait_for()
    watched.assert_clean()


def test_an_untouched_date_keeps_its_milliseconds(server: Server, watched: Watched) -> None:
    """The date box shows seconds; saving another change must not round the stored date to them."""
    token = server.sign_in(EMAIL, PASSWORD)
    fields = [{"name": "title", "type": "text"}, {"name": "due", "type": "date"}]
    server.api("POST", "/api/collections", {"name": "deadlines", "type": "base", "fields": fields}, token=token)
    made = server.api("POST", "/api/collections/deadlines/records", {"title": "a", "due": "2031-02-03 04:05:06.789Z"}, token=token)
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/deadlines")
    page.get_by_role("button", name=f"Edit record {made['id']}").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("title", exact=True).fill("b")
    dialog.get_by_role("button", name="Save record").click()
    dialog.wait_for(state="detached")
    kept = server.api("GET", f"/api/collections/deadlines/records/{made['id']}", token=token)
    assert (kept["title"], kept["due"]) == ("b", "2031-02-03 04:05:06.789Z")
    watched.assert_clean()
