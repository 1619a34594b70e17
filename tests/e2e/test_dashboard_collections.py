"""Collections and records through the dashboard: create with a relation and a file field, add
records (with an upload), filter and sort, edit a rule (inline error for a bad one), bulk delete."""

from __future__ import annotations

import io
import json
import re
import urllib.request
from pathlib import Path
from typing import Any

from PIL import Image

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, shot, sign_in
from tests.e2e.dashboard_server import Server


def _png() -> bytes:
    """A 64x64 striped image, so a broken thumbnail is visible in the screenshot."""
    image = Image.new("RGB", (64, 64), (200, 40, 40))
    for x in range(0, 64, 16):
        image.paste((40, 80, 200), (x, 0, x + 8, 64))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _add_field(page: Any, name: str, type_: str) -> Any:
    page.get_by_role("button", name="Add field").click()
    row = page.locator("fieldset.field-row").last
    row.get_by_label("Field name").fill(name)
    row.get_by_label("Type").select_option(type_)
    return row


def _create_collection(page: Any, name: str, fields: list[tuple[str, str]], relation_to: str = "") -> None:
    page.get_by_role("link", name="New collection").click()
    page.get_by_role("heading", name="New collection").wait_for()
    page.get_by_label("Name", exact=True).fill(name)
    for field_name, type_ in fields:
        row = _add_field(page, field_name, type_)
        if type_ == "relation":
            row.locator("summary").click()
            row.get_by_label("Related collection").select_option(label=relation_to)
    for rule in ("List/Search rule", "View rule"):
        page.get_by_label(f"{rule}: superusers only").uncheck()  # empty rule: public
    page.get_by_role("button", name="Create collection").click()
    page.get_by_role("heading", name=name, exact=True).wait_for()


def _new_record(
    page: Any, values: dict[str, str], select: dict[str, str] | None = None, upload: Path | None = None
) -> None:
    page.get_by_role("button", name="New record").click()
    dialog = page.get_by_role("dialog")
    for label, value in values.items():
        dialog.get_by_label(label, exact=True).fill(value)
    for label, option in (select or {}).items():  # a relation's picker: records shown as "Ada (<id>)"
        picker = dialog.get_by_role("group", name=label, exact=True)
        picker.get_by_role("radio", name=re.compile(rf"^{re.escape(option)} \(")).check()
    if upload is not None:
        dialog.get_by_label("cover", exact=True).set_input_files(str(upload))
        dialog.locator(".previews img").wait_for()  # a preview of the chosen image (a blob: URL)
    dialog.get_by_role("button", name="Create record").click()
    try:
        dialog.wait_for(state="detached")
    except Exception as exc:  # show what the editor says instead of a bare timeout
        raise AssertionError(dialog.inner_text()) from exc


def test_collection_with_relation_and_file_then_records_filter_and_sort(
    server: Server, watched: Watched, tmp_path: Path
) -> None:
    page = watched.page
    sign_in(watched, server)
    _create_collection(page, "authors", [("name", "text")])
    page.get_by_role("link", name="Collections", exact=True).click()
    _create_collection(
        page,
        "posts",
        [("title", "text"), ("author", "relation"), ("cover", "file"), ("views", "number")],
        relation_to="authors",
    )

    token = server.sign_in(EMAIL, PASSWORD)
    schema = server.api("GET", "/api/collections/posts", token=token)
    by_name = {f["name"]: f for f in schema["fields"]}
    authors = server.api("GET", "/api/collections/authors", token=token)
    assert by_name["author"]["type"] == "relation"
    assert by_name["author"]["collectionId"] == authors["id"]
    assert by_name["cover"]["type"] == "file"
    assert schema["listRule"] == "" and schema["createRule"] is None

    page.goto(server.url + "/_/#/collections/authors")
    page.get_by_role("heading", name="authors").wait_for()
    _new_record(page, {"name": "Ada"})
    _new_record(page, {"name": "Grace"})
    page.goto(server.url + "/_/#/collections/posts")
    page.get_by_role("heading", name="posts").wait_for()
    image = tmp_path / "cover.png"
    image.write_bytes(_png())
    _new_record(page, {"title": "Engines", "views": "5"}, {"author": "Ada"}, upload=image)
    _new_record(page, {"title": "Compilers", "views": "9"}, {"author": "Grace"})
    _new_record(page, {"title": "Notes", "views": "1"})

    rows = page.locator("tbody tr")
    try:
        page.get_by_text("3 records, page 1 of 1").wait_for()
    except Exception as exc:
        raise AssertionError(page.locator("main").inner_text()) from exc
    assert rows.count() == 3
    page.locator("tbody img.thumb").wait_for()  # the uploaded cover, as a thumbnail
    assert page.locator("tbody img.thumb").evaluate("img => img.complete && img.naturalWidth > 0")
    stored = server.api(
        "GET", "/api/collections/posts/records?filter=title%3D%22Engines%22&expand=author", token=token
    )["items"][0]
    assert stored["expand"]["author"]["name"] == "Ada"
    assert isinstance(stored["cover"], str) and stored["cover"].endswith(".png")  # a single-file field

    page.get_by_label("Filter").fill('views > 2 && title ~ "e"')
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("2 records, page 1 of 1").wait_for()
    assert sorted(rows.locator("td[data-field=title]").all_inner_texts()) == ["Compilers", "Engines"]
    page.get_by_role("link", name="views").click()  # sort ascending by views
    page.locator("th[aria-sort=ascending]").wait_for()
    assert rows.locator("td[data-field=title]").all_inner_texts() == ["Engines", "Compilers"]
    chips = rows.locator("td[data-field=author] .rel-chip")  # related records by their text fields, not ids
    assert chips.all_inner_texts() == ["Ada", "Grace"]
    assert chips.first.get_attribute("title") == stored["author"]
    page.locator("tbody img.thumb").evaluate("img => img.decode()")  # rejects if the thumbnail is broken
    shot(watched, "records")

    page.get_by_label("Filter").fill("nope = ")  # a filter the server rejects: a message, no crash
    page.get_by_role("button", name="Apply").click()
    page.get_by_role("alert").filter(has_text="Could not list records").wait_for()

    page.get_by_label("Filter").fill("")
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("3 records").wait_for()
    page.get_by_label("Select all on this page").check()
    page.get_by_role("button", name="Delete selected").click()
    page.get_by_text("0 records").wait_for()
    assert watched.dialogs == ["confirm: Delete 3 records?"]
    assert server.api("GET", "/api/collections/posts/records", token=token)["totalItems"] == 0
    watched.assert_clean()


def test_a_bad_rule_shows_the_server_error_inline_and_a_good_one_saves(server: Server, watched: Watched) -> None:
    token = server.sign_in(EMAIL, PASSWORD)
    server.api(
        "POST",
        "/api/collections",
        {"name": "notes", "type": "base", "fields": [{"name": "body", "type": "text"}]},
        token=token,
    )
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/notes/edit")
    page.get_by_role("heading", name="Edit collection notes").wait_for()
    page.get_by_label("Update rule: superusers only").uncheck()
    rule = page.get_by_label("Update rule", exact=True)
    rule.fill("missing_field = 1 &&")
    page.get_by_role("button", name="Save changes").click()
    error = page.locator(f"#{rule.get_attribute('id')}-error")
    error.wait_for()
    assert error.inner_text().strip() != ""
    assert rule.get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == rule.get_attribute("id")  # focus goes to the error
    assert server.api("GET", "/api/collections/notes", token=token)["updateRule"] is None  # nothing saved
    shot(watched, "collection-edit")

    rule.fill('@request.auth.id != ""')
    page.get_by_role("button", name="Save changes").click()
    page.get_by_role("heading", name="notes", exact=True).wait_for()
    assert server.api("GET", "/api/collections/notes", token=token)["updateRule"] == '@request.auth.id != ""'
    watched.assert_clean()


def test_fields_rename_reorder_and_remove(server: Server, watched: Watched) -> None:
    token = server.sign_in(EMAIL, PASSWORD)
    server.api(
        "POST",
        "/api/collections",
        {
            "name": "items",
            "type": "base",
            "fields": [{"name": "a", "type": "text"}, {"name": "b", "type": "number"}, {"name": "c", "type": "bool"}],
        },
        token=token,
    )
    before = {f["name"]: f["id"] for f in server.api("GET", "/api/collections/items", token=token)["fields"]}
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/items/edit")
    page.get_by_role("heading", name="Edit collection items").wait_for()
    rows = page.locator("fieldset.field-row")
    rows.filter(has_text="Field “a”").get_by_label("Field name").fill("alpha")
    rows.filter(has_text="Field “c”").get_by_role("button", name="Move up").click()  # a c b
    rows.filter(has_text="Field “c”").get_by_role("button", name="Move up").click()  # c a b
    rows.filter(has_text="Field “b”").get_by_role("button", name="Remove field").click()
    page.get_by_label("Indexes (one CREATE INDEX statement per line)").fill("CREATE INDEX idx_items_c ON items (c)")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_role("heading", name="items", exact=True).wait_for()
    saved = server.api("GET", "/api/collections/items", token=token)
    assert [i.replace("`", "").replace('"', "") for i in saved["indexes"]] == ["CREATE INDEX idx_items_c ON items (c)"]
    fields = [f for f in saved["fields"] if f["name"] != "id"]
    assert [f["name"] for f in fields][:2] == ["c", "alpha"]
    assert "b" not in [f["name"] for f in fields]
    assert {f["name"]: f["id"] for f in fields}["alpha"] == before["a"]  # renamed, not replaced
    watched.assert_clean()


def test_export_then_import_collections(server: Server, watched: Watched, tmp_path: Path) -> None:
    page = watched.page
    sign_in(watched, server)
    with page.expect_download() as info:
        page.get_by_role("button", name="Export JSON").click()
    exported = json.loads(Path(info.value.path()).read_text())
    token = server.sign_in(EMAIL, PASSWORD)
    listed = server.api("GET", "/api/collections?perPage=500", token=token)["items"]
    assert {c["name"] for c in exported} == {c["name"] for c in listed}

    exported.append({"name": "imported_things", "type": "base", "fields": [{"name": "label", "type": "text"}]})
    source = tmp_path / "collections.json"
    source.write_text(json.dumps(exported))
    page.locator("summary", has_text="Import collections").click()
    page.get_by_label("JSON file").set_input_files(str(source))
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_role("status").filter(has_text="Collections imported.").wait_for()
    page.get_by_role("link", name="imported_things").wait_for()
    fields = server.api("GET", "/api/collections/imported_things", token=token)["fields"]
    assert "label" in [f["name"] for f in fields]

    source.write_text("{not json")
    page.get_by_label("JSON file").set_input_files(str(source))
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_role("alert").filter(has_text="Import failed").wait_for()
    watched.assert_clean()


def test_auth_and_view_collections_then_delete(server: Server, watched: Watched) -> None:
    page = watched.page
    sign_in(watched, server)
    token = server.sign_in(EMAIL, PASSWORD)

    page.goto(server.url + "/_/#/collections/new")
    page.get_by_label("Name", exact=True).fill("members")
    page.get_by_label("Type", exact=True).first.select_option("auth")
    _add_field(page, "nickname", "text")
    assert page.get_by_label("Sign in with a password").is_checked()  # the scaffold's defaults
    assert page.get_by_label("OTP length").input_value() == "8"
    page.get_by_label("One-time passwords by mail").check()
    page.get_by_label("Auth token lifetime (seconds)").fill("3600")
    page.get_by_label("Auth rule: superusers only").uncheck()
    auth_rule = page.get_by_label("Auth rule (who may sign in; empty: everyone)")
    auth_rule.fill("verified = ")
    page.get_by_role("button", name="Create collection").click()
    page.locator(f"#{auth_rule.get_attribute('id')}-error").wait_for()  # the server rejects the rule, inline
    assert auth_rule.get_attribute("aria-invalid") == "true"
    auth_rule.fill("verified = true")
    page.locator("summary", has_text="Mail templates").click()
    page.get_by_label("One-time password: subject").fill("Your code for {APP_NAME}")
    verify_body = page.get_by_label("Verification: body (HTML", exact=False)
    assert "{TOKEN}" in verify_body.input_value()  # the scaffold's template
    page.get_by_role("button", name="Create collection").click()
    page.get_by_role("heading", name="members", exact=True).wait_for()
    members = server.api("GET", "/api/collections/members", token=token)
    assert members["type"] == "auth"
    assert {"email", "password", "nickname"} <= {f["name"] for f in members["fields"]}
    assert members["otp"]["enabled"] is True and members["otp"]["length"] == 8
    assert members["passwordAuth"] == {"enabled": True, "identityFields": ["email"]}
    assert members["authToken"]["duration"] == 3600
    assert members["authRule"] == "verified = true"
    assert members["manageRule"] is None
    assert members["otp"]["emailTemplate"]["subject"] == "Your code for {APP_NAME}"
    assert "{OTP}" in members["otp"]["emailTemplate"]["body"]

    page.get_by_role("link", name="Edit collection").click()  # OAuth2 providers on the saved collection
    page.get_by_role("heading", name="Edit collection members").wait_for()
    page.locator("summary", has_text="OAuth2 providers").click()
    page.get_by_role("button", name="Add provider").click()
    provider = page.get_by_label("Provider", exact=True)
    provider.fill("nope")  # not a provider the server knows: its error shows on the entry
    page.get_by_label("Client id").fill("client-123")
    page.get_by_label("Client secret").fill("secret-456")
    page.get_by_label("Sign in with OAuth2").check()
    page.get_by_role("button", name="Save changes").click()
    page.locator(f"#{provider.get_attribute('id')}-error").wait_for()
    assert provider.get_attribute("aria-invalid") == "true"
    provider.fill("github")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_role("heading", name="members", exact=True).wait_for()
    oauth2 = server.api("GET", "/api/collections/members", token=token)["oauth2"]
    assert oauth2["enabled"] is True
    assert [(p["name"], p["clientId"]) for p in oauth2["providers"]] == [("github", "client-123")]
    assert "clientSecret" not in oauth2["providers"][0]  # never sent back
    methods = server.api("GET", "/api/collections/members/auth-methods")
    assert [p["name"] for p in methods["oauth2"]["providers"]] == ["github"]

    page.goto(server.url + "/_/#/collections/new")
    page.get_by_label("Name", exact=True).fill("member_names")
    page.get_by_label("Type", exact=True).first.select_option("view")
    query = page.get_by_label("View query (SELECT ...)")
    query.fill("SELECT id, nope FROM members")  # a column that does not exist: the server's error, inline
    page.get_by_role("button", name="Create collection").click()
    page.locator(f"#{query.get_attribute('id')}-error").wait_for()
    assert query.get_attribute("aria-invalid") == "true"
    query.fill("SELECT id, nickname FROM members")
    page.get_by_role("button", name="Create collection").click()
    page.get_by_role("heading", name="member_names", exact=True).wait_for()
    assert page.get_by_role("button", name="New record").count() == 0  # views are read-only
    view = server.api("GET", "/api/collections/member_names", token=token)
    assert view["type"] == "view" and [f["name"] for f in view["fields"]] == ["id", "nickname"]

    page.get_by_role("link", name="Edit collection").click()
    page.get_by_role("button", name="Delete collection").click()
    page.get_by_role("heading", name="Collections").wait_for()
    assert watched.dialogs == ['confirm: Delete the collection "member_names" and all its records?']
    names = {c["name"] for c in server.api("GET", "/api/collections?perPage=500", token=token)["items"]}
    assert "member_names" not in names and "members" in names
    watched.assert_clean()


def test_thumbnails_of_protected_files_use_a_file_token(server: Server, watched: Watched) -> None:
    token = server.sign_in(EMAIL, PASSWORD)
    server.api(
        "POST",
        "/api/collections",
        {
            "name": "scans",
            "type": "base",
            "fields": [{"name": "page", "type": "file", "protected": True, "maxSelect": 1}],
        },
        token=token,
    )
    boundary = "satchelboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="page"; filename="p.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + _png()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        server.url + "/api/collections/scans/records",
        data=body,
        method="POST",
        headers={"Authorization": token, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request) as answer:
        name = json.loads(answer.read())["page"]
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/scans")
    thumb = page.locator("tbody img.thumb")
    thumb.wait_for()
    thumb.evaluate("img => img.decode()")  # rejects if the server refused the thumbnail
    assert "token=" in (thumb.get_attribute("src") or "") and name in (thumb.get_attribute("src") or "")
    watched.assert_clean()


def test_a_rejected_index_shows_its_error_under_the_box(server: Server, watched: Watched) -> None:
    """The server answers index errors per statement (`indexes.0`): the box shows them, not only
    the bare "Failed to update collection."."""
    token = server.sign_in(EMAIL, PASSWORD)
    server.api("POST", "/api/collections", {"name": "gadgets", "type": "base", "fields": [{"name": "n", "type": "text"}]}, token=token)
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/gadgets/edit")
    page.get_by_role("heading", name="Edit collection gadgets").wait_for()
    box = page.get_by_label("Indexes (one CREATE INDEX statement per line)")
    box.fill("CREATE INDEX idx_gadgets_n ON gadgets (n)\nCREATE INDEX idx_gadgets_x ON gadgets (nope)")
    page.get_by_role("button", name="Save changes").click()
    error = page.locator(f"#{box.get_attribute('id')}-error")
    error.filter(has_text="no such column").wait_for()
    assert error.inner_text().startswith("Index 2:")
    assert box.get_attribute("aria-invalid") == "true"
    assert server.api("GET", "/api/collections/gadgets", token=token)["indexes"] == []
    watched.assert_clean()


def test_view_records_are_read_only(server: Server, watched: Watched) -> None:
    token = server.sign_in(EMAIL, PASSWORD)
    server.api("POST", "/api/collections", {"name": "tools", "type": "base", "fields": [{"name": "label", "type": "text"}]}, token=token)
    server.api("POST", "/api/collections/tools/records", {"label": "hammer"}, token=token)
    server.api("POST", "/api/collections", {"name": "tool_labels", "type": "view", "viewQuery": "SELECT id, label FROM tools"}, token=token)
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/tool_labels")
    page.get_by_role("cell", name="hammer").wait_for()
    # a view's records cannot be created, changed or deleted: nothing offers to
    assert page.get_by_role("button", name="New record").count() == 0
    assert page.get_by_role("button", name="Edit").count() == 0
    assert page.get_by_role("checkbox").count() == 0
    watched.assert_clean()
