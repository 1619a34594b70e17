"""OAuth2 providers of an auth collection, configured through the dashboard: the API lists the
provider and never its client secret, the page never shows it, and saving with the box left empty
keeps the stored secret (read from the database file itself, where the server keeps it)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import EMAIL, PASSWORD, Watched, sign_in
from tests.e2e.dashboard_server import Server, start, upsert_superuser

SECRET = "google-client-secret-0001"
NEW_SECRET = "google-client-secret-0002"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("oauth2") / "pb_data"


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[Server]:
    upsert_superuser(data_dir, EMAIL, PASSWORD)
    s = start(data_dir)
    yield s
    s.stop()


def _stored_options(data_dir: Path) -> str:
    """The `users` row of `_collections` as the server wrote it (no encryption key: in clear)."""
    with sqlite3.connect(f"file:{data_dir / 'data.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT * FROM _collections WHERE name = 'users'").fetchone()
    return json.dumps(row)


def _edit_users(page: Any, server: Server) -> None:
    page.goto(server.url + "/_/#/collections/users/edit")
    page.get_by_role("heading", name="Edit collection users").wait_for()
    page.locator("summary", has_text="OAuth2 providers").click()


def test_provider_configured_through_the_page_keeps_its_secret_hidden(
    server: Server, data_dir: Path, watched: Watched
) -> None:
    page = watched.page
    token = server.sign_in(EMAIL, PASSWORD)
    sign_in(watched, server)
    _edit_users(page, server)
    page.get_by_role("button", name="Add provider").click()
    page.get_by_label("Provider", exact=True).fill("google")
    page.get_by_label("Client id").fill("client-google-1")
    page.get_by_label("Client secret").fill(SECRET)
    page.get_by_label("Sign in with OAuth2").check()
    page.get_by_role("button", name="Save changes").click()
    page.get_by_role("heading", name="users", exact=True).wait_for()

    users = server.api("GET", "/api/collections/users", token=token)
    assert [(p["name"], p["clientId"]) for p in users["oauth2"]["providers"]] == [("google", "client-google-1")]
    assert SECRET not in json.dumps(users)  # never answered
    methods = server.api("GET", "/api/collections/users/auth-methods")
    assert [p["name"] for p in methods["oauth2"]["providers"]] == ["google"]
    assert SECRET in _stored_options(data_dir)

    # edit again: the box starts empty, and leaving it empty keeps the stored secret
    _edit_users(page, server)
    assert page.get_by_label("Client secret").input_value() == ""
    assert SECRET not in page.content()
    page.get_by_label("Client id").fill("client-google-2")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_role("heading", name="users", exact=True).wait_for()
    users = server.api("GET", "/api/collections/users", token=token)
    assert users["oauth2"]["providers"][0]["clientId"] == "client-google-2"
    assert SECRET in _stored_options(data_dir)

    # a new secret replaces it
    _edit_users(page, server)
    page.get_by_label("Client secret").fill(NEW_SECRET)
    page.get_by_role("button", name="Save changes").click()
    page.get_by_role("heading", name="users", exact=True).wait_for()
    stored = _stored_options(data_dir)
    assert NEW_SECRET in stored and SECRET not in stored
    assert NEW_SECRET not in json.dumps(server.api("GET", "/api/collections/users", token=token))
    watched.assert_clean()
