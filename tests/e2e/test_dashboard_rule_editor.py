"""The API rule editor: highlighting, completion with the keyboard (combobox/listbox roles), and the
server's verdict shown while typing, against the unsaved form."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, shot, sign_in
from tests.e2e.dashboard_server import Server


def _setup(server: Server) -> str:
    token = server.sign_in(EMAIL, PASSWORD)
    authors = server.api(
        "POST",
        "/api/collections",
        {"name": "authors", "type": "base", "fields": [{"name": "name", "type": "text"}]},
        token=token,
    )
    server.api(
        "POST",
        "/api/collections",
        {
            "name": "posts",
            "type": "base",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "views", "type": "number"},
                {"name": "author", "type": "relation", "collectionId": authors["id"], "maxSelect": 1},
                {"name": "created", "type": "autodate", "onCreate": True},
            ],
        },
        token=token,
    )
    return token


def _options(page: Any) -> list[str]:
    listbox = page.get_by_role("listbox", name="Completions")
    listbox.wait_for()
    return [o.strip() for o in listbox.get_by_role("option").all_inner_texts()]


def test_highlight_complete_and_check_while_typing(server: Server, watched: Watched) -> None:
    token = _setup(server)
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/posts/edit")
    page.get_by_role("heading", name="Edit collection posts").wait_for()
    page.get_by_label("List/Search rule: superusers only").uncheck()
    rule = page.get_by_role("combobox", name="List/Search rule")
    assert rule.get_attribute("aria-expanded") == "false"
    listbox_id = rule.get_attribute("aria-controls")
    rule.focus()

    # field names and relation paths one level deep
    page.keyboard.type("auth")
    options = _options(page)
    assert options[0] == "author" and "author.name" in options and "@request.auth.id" not in options
    assert rule.get_attribute("aria-expanded") == "true"
    first = rule.get_attribute("aria-activedescendant")
    assert page.locator(f"#{first}").get_attribute("aria-selected") == "true"
    page.keyboard.press("ArrowDown")
    second = rule.get_attribute("aria-activedescendant")
    assert second != first and page.locator(f"#{second}").get_attribute("aria-selected") == "true"
    assert page.locator(f"#{listbox_id} #{second}").count() == 1
    page.keyboard.type("or.na")
    assert _options(page) == ["author.name"]
    page.keyboard.press("Enter")
    assert rule.input_value() == "author.name"
    assert page.get_by_role("listbox").is_hidden()

    # @request.auth.* from the auth collections, accepted with Tab
    page.keyboard.type(' = "x" && @request.auth.em')
    assert _options(page)[:2] == ["@request.auth.email", "@request.auth.emailVisibility"]
    page.keyboard.press("Tab")
    assert rule.input_value() == 'author.name = "x" && @request.auth.email'
    assert page.evaluate("document.activeElement.getAttribute('role')") == "combobox"  # Tab did not leave

    # Escape closes the list only
    page.keyboard.type(" != @coll")
    assert "@collection.authors.name" in _options(page) and "@collection.posts.views" in _options(page)
    page.keyboard.press("Escape")
    assert page.get_by_role("listbox").is_hidden() and rule.get_attribute("aria-expanded") == "false"
    page.keyboard.type("ection.authors.name && views:l")
    assert _options(page) == [":length", ":lower"]
    page.keyboard.press("ArrowUp")  # wraps to the last option
    page.keyboard.press("Enter")
    page.keyboard.type(" > 1 && created < @to")
    assert _options(page) == ["@todayEnd", "@todayStart", "@tomorrow"]
    page.keyboard.press("Enter")
    page.keyboard.type(" && @request.b")
    assert "@request.body.title" in _options(page)
    page.keyboard.press("Escape")
    for _ in range(len("@request.b")):
        page.keyboard.press("Backspace")
    page.keyboard.press("Control+Space")  # asks for the list without typing
    assert len(_options(page)) > 5
    page.keyboard.press("Escape")
    page.keyboard.type("title != null")
    expected = 'author.name = "x" && @request.auth.email != @collection.authors.name && views:lower > 1 && created < @todayEnd && title != null'
    assert rule.input_value() == expected

    # the highlighted copy under the textarea holds the same text, split into tokens
    copy = rule.locator("xpath=preceding-sibling::pre")
    assert copy.get_attribute("aria-hidden") == "true"
    assert copy.inner_text().rstrip("\n") == expected
    assert copy.locator(".tok-str").all_inner_texts() == ['"x"']
    assert copy.locator(".tok-req").all_inner_texts() == ["@request.auth.email"]
    assert copy.locator(".tok-coll").all_inner_texts() == ["@collection.authors.name"]
    assert copy.locator(".tok-macro").all_inner_texts() == ["@todayEnd"]
    assert copy.locator(".tok-mod").all_inner_texts() == [":lower"]
    assert copy.locator(".tok-num").all_inner_texts() == ["1"]
    assert copy.locator(".tok-kw").all_inner_texts() == ["null"]
    assert "&&" in copy.locator(".tok-op").all_inner_texts() and "!=" in copy.locator(".tok-op").all_inner_texts()
    editor = page.locator(".rule-editor", has=rule)
    editor.and_(page.locator("[data-check=valid]")).wait_for()  # the server accepts it
    error = page.locator(f"#{rule.get_attribute('id')}-error")
    assert error.is_hidden() and rule.get_attribute("aria-invalid") is None

    # a rule the server refuses: the error shows while typing, without saving
    page.keyboard.type(" && nosuch = 1")
    editor.and_(page.locator("[data-check=invalid]")).wait_for()
    assert "nosuch" in error.inner_text()
    assert rule.get_attribute("aria-invalid") == "true"
    for _ in range(len(" && nosuch = 1")):
        page.keyboard.press("Backspace")
    editor.and_(page.locator("[data-check=valid]")).wait_for()
    assert error.is_hidden() and rule.get_attribute("aria-invalid") is None

    # a field added in the form (not saved yet) is completed and accepted by the check
    page.get_by_role("button", name="Add field").click()
    page.locator("fieldset.field-row").last.get_by_label("Field name").fill("subtitle")
    view_rule_lock = page.get_by_label("View rule: superusers only")
    view_rule_lock.uncheck()
    view_rule = page.get_by_role("combobox", name="View rule")
    view_rule.focus()
    page.keyboard.type("subt")
    assert _options(page) == ["subtitle"]
    page.keyboard.press("Enter")
    page.keyboard.type(" != 'a' &&")
    view_editor = page.locator(".rule-editor", has=view_rule)
    view_error = page.locator(f"#{view_rule.get_attribute('id')}-error")
    view_editor.and_(page.locator("[data-check=invalid]")).wait_for()  # an unfinished rule
    assert view_error.is_visible()
    page.keyboard.type(" views > 0")
    view_editor.and_(page.locator("[data-check=valid]")).wait_for()  # `subtitle` is in the draft
    assert view_error.is_hidden()
    rule.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type(" && @request.auth.ver")
    assert _options(page) == ["@request.auth.verified"]
    shot(watched, "rule-editor")
    page.keyboard.press("Enter")
    page.keyboard.type(" = true")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_role("heading", name="posts", exact=True).wait_for()
    saved = server.api("GET", "/api/collections/posts", token=token)
    assert saved["listRule"] == expected + " && @request.auth.verified = true"
    assert saved["viewRule"] == "subtitle != 'a' && views > 0"
    assert "subtitle" in [f["name"] for f in saved["fields"]]
    watched.assert_clean()


def test_auth_rules_use_the_editor(server: Server, watched: Watched) -> None:
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/users/edit")
    page.get_by_role("heading", name="Edit collection users").wait_for()
    manage = page.get_by_role("combobox", name="Manage rule (who may manage other users' records)")
    page.get_by_label("Manage rule: superusers only").uncheck()
    manage.focus()
    page.keyboard.type("verif")
    assert _options(page)[0] == "verified"  # an auth collection's own system field
    page.keyboard.press("Enter")
    page.keyboard.type(" = ")
    editor = page.locator(".rule-editor", has=manage)
    error = page.locator(f"#{manage.get_attribute('id')}-error")
    editor.and_(page.locator("[data-check=invalid]")).wait_for()
    assert error.is_visible()
    page.keyboard.type("true")
    editor.and_(page.locator("[data-check=valid]")).wait_for()
    assert error.is_hidden()
    assert manage.input_value() == "verified = true"
    watched.assert_clean()


def test_the_mfa_rule_uses_the_editor(server: Server, watched: Watched) -> None:
    token = server.sign_in(EMAIL, PASSWORD)
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/users/edit")
    page.get_by_role("heading", name="Edit collection users").wait_for()
    mfa = page.get_by_role("combobox", name="MFA rule (who needs a second factor; empty: everyone)")
    mfa.focus()
    page.keyboard.type("@request.auth.verif")
    assert _options(page)[0] == "@request.auth.verified"
    page.keyboard.press("Enter")
    page.keyboard.type(" = ")
    editor = page.locator(".rule-editor", has=mfa)
    editor.and_(page.locator("[data-check=invalid]")).wait_for()  # the server's verdict, while typing
    page.keyboard.type("true")
    editor.and_(page.locator("[data-check=valid]")).wait_for()
    page.get_by_role("button", name="Save changes").click()
    page.get_by_role("heading", name="users", exact=True).wait_for()
    saved = server.api("GET", "/api/collections/users", token=token)
    assert saved["mfa"]["rule"] == "@request.auth.verified = true"
    watched.assert_clean()


def test_rule_editor_at_390px(server: Server, watched: Watched) -> None:
    page = watched.page
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/users/edit")
    page.get_by_role("heading", name="Edit collection users").wait_for()
    page.get_by_label("List/Search rule: superusers only").uncheck()
    rule = page.get_by_role("combobox", name="List/Search rule")
    rule.fill("")
    rule.focus()
    page.keyboard.type(
        'id = @request.auth.id && @collection.users.name != "a long text that wraps" && @request.auth.em'
    )
    listbox = page.get_by_role("listbox", name="Completions")
    listbox.wait_for()
    box = listbox.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390  # kept inside the editor
    field_box = rule.bounding_box()
    assert field_box is not None and box["y"] > field_box["y"]  # under the caret, on a wrapped line
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # the highlighted copy wraps like the textarea: same height, so colours sit under their letters
    heights = page.evaluate(
        "(() => { const t = document.activeElement; const p = t.previousElementSibling;"
        " return [t.getBoundingClientRect().height, p.getBoundingClientRect().height]; })()"
    )
    assert heights[0] == heights[1] and heights[0] > 60
    shot(watched, "rule-editor-390")
    listbox.get_by_role("option", name="@request.auth.emailVisibility").click()  # by pointer too
    assert rule.input_value().endswith("&& @request.auth.emailVisibility")
    assert page.evaluate("document.activeElement.getAttribute('role')") == "combobox"  # focus stayed
    watched.assert_clean()


def test_a_new_view_query_is_left_to_the_save(server: Server, watched: Watched) -> None:
    """The fields of a view come from its query, which the server only runs on save: while the query
    is new or changed, the editor gives no verdict rather than a wrong one."""
    page = watched.page
    sign_in(watched, server)
    page.goto(server.url + "/_/#/collections/new")
    page.get_by_label("Name", exact=True).fill("named")
    page.get_by_label("Type", exact=True).first.select_option("view")
    page.get_by_label("View query (SELECT ...)").fill("SELECT id, name FROM users")
    page.get_by_label("List/Search rule: superusers only").uncheck()
    rule = page.get_by_role("combobox", name="List/Search rule")
    rule.fill("name != ''")
    editor = page.locator(".rule-editor", has=rule)
    editor.and_(page.locator("[data-check=skipped]")).wait_for()
    assert rule.get_attribute("aria-invalid") is None
    page.get_by_role("button", name="Create collection").click()
    page.get_by_role("heading", name="named", exact=True).wait_for()

    # saved: its fields are known, so the rules are checked again while typing
    page.goto(server.url + "/_/#/collections/named/edit")
    page.get_by_role("heading", name="Edit collection named").wait_for()
    rule = page.get_by_role("combobox", name="List/Search rule")
    rule.fill("nosuch != ''")
    editor = page.locator(".rule-editor", has=rule)
    editor.and_(page.locator("[data-check=invalid]")).wait_for()
    rule.fill("name != ''")
    editor.and_(page.locator("[data-check=valid]")).wait_for()
    watched.assert_clean()
